// libFuzzer target: the restricted unpickler on its own (every opcode, the allowed globals, the
// torch rebuild calls, memo and mark handling), then the state-dict walk over what it built.
// Pickles are run back to back until one fails or the input ends, as the legacy container does.
// modules: Checkpoint
// max_len: 8192
@testable import Checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    var machine = PickleMachine(path: "fuzz.pkl")
    var start = 0
    for _ in 0..<5 where start < size {
        do {
            let (value, end) = try machine.run(buffer, from: start)
            precondition(end > start && end <= size, "a pickle ended outside its bytes")
            start = end
            if let named = try? TorchStateDict.namedTensors(value, machine: machine, path: "fuzz.pkl") {
                for (_, t) in named {
                    precondition(machine.tensors.indices.contains(t))
                    precondition(machine.storages.indices.contains(machine.tensors[t].storage))
                }
            }
        } catch {
            precondition(error.description.hasPrefix("fuzz.pkl: "))
            break
        }
    }
    return 0
}
