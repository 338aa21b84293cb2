import Foundation

#if canImport(Glibc)
internal import CGlibc
import Glibc
#endif

/// Runs one command without a shell: `posix_spawn` of argv as written, in a process group of its
/// own with default signal handling and nothing blocked (the sidecar's signal set-up is not
/// inherited), stdin from /dev/null, stdout and stderr captured (the first `outputLimit` bytes
/// kept). At its timeout the whole group gets SIGTERM, and SIGKILL 2 s later. Blocking: call it
/// on a thread of its own.
struct CommandRunner {
    struct Outcome: Sendable, Equatable {
        enum End: Sendable, Equatable {
            case exited(Int32)
            case signalled(Int32)
            case timedOut
            case notStarted(String)
        }

        var end: End
        var output: String

        /// "exit 0", "killed by signal 9", "killed after 30s", "not started: …"
        func summary(timeout: Duration) -> String {
            switch end {
            case .exited(let status): "exit \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .timedOut: "killed after \(timeout.wholeSeconds)s (timeout)"
            case .notStarted(let reason): "not started: \(reason)"
            }
        }
    }

    var argv: [String]
    var environment: [String: String]
    var timeout: Duration
    var outputLimit = 4096

    func run() -> Outcome {
        guard let program = argv.first, let path = Self.resolve(program, in: environment["PATH"] ?? "") else {
            return Outcome(end: .notStarted("\(argv.first ?? "") not found"), output: "")
        }
        var pipeEnds: [Int32] = [0, 0]
        // Close-on-exec: a command another thread spawns meanwhile must not hold the write end open.
        guard cglibc_pipe_cloexec(&pipeEnds) == 0 else {
            return Outcome(end: .notStarted("pipe: \(errno)"), output: "")
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, arguments, variables)
        close(writeEnd)
        guard spawned == 0 else {
            return Outcome(end: .notStarted(String(cString: strerror(spawned))), output: "")
        }

        let deadline = ContinuousClock.now + timeout
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        // Read until every writer closed the pipe (the command and anything it left behind) or
        // the timeout; output beyond the limit is read and dropped so the command never blocks.
        while true {
            let left = deadline - .now
            guard left > .zero else {
                timedOut = true
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left.wholeMilliseconds, 1000)))
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            let count = read(readEnd, &buffer, buffer.count)
            if count <= 0 { break }
            if output.count < outputLimit { output += buffer[0..<min(count, outputLimit - output.count)] }
        }
        var status: Int32 = 0
        if timedOut {
            kill(-pid, SIGTERM)
            let grace = ContinuousClock.now + .seconds(2)
            while waitpid(pid, &status, WNOHANG) == 0 {
                guard ContinuousClock.now < grace else {
                    kill(-pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    break
                }
                usleep(20_000)
            }
            kill(-pid, SIGKILL)  // whatever it started and left behind
            return Outcome(end: .timedOut, output: Self.text(output, limit: outputLimit))
        }
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        let end: Outcome.End = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return Outcome(end: end, output: Self.text(output, limit: outputLimit))
    }

    /// A path as written, or the first executable of that name in `path`'s directories.
    static func resolve(_ program: String, in path: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static func text(_ bytes: [UInt8], limit: Int) -> String {
        String(decoding: bytes, as: UTF8.self) + (bytes.count >= limit ? "…" : "")
    }
}
