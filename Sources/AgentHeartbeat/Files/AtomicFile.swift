internal import CGlibc
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so readers see the old content or the new, never a half-written one: the bytes go
/// to a temporary file beside it, which `commit` flushes and renames over it. Not committed (a
/// failure, or `discard`), the temporary file is removed and the old content stays. Creates the
/// folder if it is missing. Blocking: used on a `JobThread`.
public final class AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    public let path: String
    private let temporary: String
    private var descriptor: Int32
    /// Bytes written, and how many of them the disk was told to start writing.
    private var written = 0
    private var writingBack = 0
    /// Writeback is started every this many bytes, so `commit`'s fsync waits for little (a map of
    /// 27 MB took 11 ms to fsync at the end).
    static let writebackStep = 1 << 20

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: path, reason: "cannot create folder \(folder): \(error.localizedDescription)")
        }
        self.path = path
        temporary = "\(folder)/.\(url.lastPathComponent).\(getpid()).tmp"
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw WriteError(path: path, reason: Self.reason()) }
    }

    deinit { discard() }

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        precondition(descriptor >= 0, "written after commit or discard")
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteError(path: path, reason: Self.reason())
            }
            offset += written
        }
        written += buffer.count
        if written - writingBack >= Self.writebackStep {
            // Only a hint: a failure here shows again, and counts, in commit's fsync.
            _ = cglibc_start_writeback(descriptor, Int64(writingBack), Int64(written - writingBack))
            writingBack = written
        }
    }

    /// Flushes what was written to the disk and puts it in place.
    public func commit() throws {
        precondition(descriptor >= 0, "committed twice, or after discard")
        var failure = fsync(descriptor) == 0 ? nil : Self.reason()
        if close(descriptor) != 0 { failure = failure ?? Self.reason() }  // released even then
        descriptor = -1
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.reason()
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
    }

    /// Drops what was written; the old content stays. Nothing happens after `commit`.
    public func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporary)
    }

    /// Writes what `contents` hands its `write` function (in as many chunks as it likes), then commits.
    public static func write(
        to path: String,
        contents: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let file = try AtomicFile(path: path)
        try contents(file.write)
        try file.commit()
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
