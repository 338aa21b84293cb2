#if FUZZING
import Glibc

/// Built with `-sanitize=fuzzer -DFUZZING` (scripts/fuzz.sh): libFuzzer's main calls this for every
/// input, on the target that FUZZ_TARGET names.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzed.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

private let fuzzed: FuzzTarget = {
    guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) else {
        fatalError("set FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()
#else
import Foundation

/// Built normally: replays inputs through a target, `agent-heartbeat-fuzz TARGET FILE...`, to
/// reproduce what the fuzzer found.
@main
struct Replay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: agent-heartbeat-fuzz \(names) FILE...\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            target.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        print("\(arguments.count - 1) inputs replayed through \(name) without a crash")
    }
}
#endif
