import Hummingbird
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A response body that streams a file in 64 KiB chunks, read on `thread`: memory per request stays
/// one chunk however large the map, and the cooperative pool never blocks on disk. Requests read
/// in turns, a chunk at a time. The file is opened once, so a map renamed over it meanwhile does
/// not mix two versions.
func fileBody(path: String, readOn thread: JobThread) -> ResponseBody {
    ResponseBody { writer in
        let descriptor = try await thread.run { () throws -> Int32 in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileReadError(reason: String(cString: strerror(errno))) }
            return descriptor
        }
        defer { close(descriptor) }
        while true {
            let chunk = try await thread.run { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: 1 << 16)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { bytes in
                    while true {
                        let count = read(descriptor, bytes.baseAddress, bytes.count)
                        if count >= 0 { return count }
                        guard errno == EINTR else { throw FileReadError(reason: String(cString: strerror(errno))) }
                    }
                }
                return buffer
            }
            guard chunk.readableBytes > 0 else { break }
            try await writer.write(chunk)
        }
        try await writer.finish(nil)
    }
}

struct FileReadError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "cannot read the map: \(reason)" }
}
