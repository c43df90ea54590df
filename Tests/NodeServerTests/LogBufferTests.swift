import Foundation
import Synchronization
import Testing
@testable import NodeServer

@Suite struct LogBufferTests {
    /// Every log line calls the listener (WebSocket `logs` subscribers). Reading the listener out of
    /// its Mutex through an `inout` closure once wrapped the stored closure in two more
    /// reabstraction thunks per line, so each call ran through a chain as long as the server's log:
    /// thread stacks grew about 120 bytes per prompt and a server would overflow a stack after
    /// roughly 70,000 prompts (8 MiB over 120 bytes, an estimate; found by the soak, docs/SECURITY.md). With 30,000 lines the chain
    /// would be 60,000 frames deep: this test would then overflow its stack or run for hours (100,000 lines did not finish in 5 minutes before the fix).
    @Test func listenerCallsDoNotDeepenWithTheNumberOfLines() {
        let log = LogBuffer()
        let calls = Mutex(0)
        log.setListener { entries in calls.withLock { $0 += entries.count } }
        for i in 0..<30_000 { log.append("line \(i)") }
        #expect(calls.withLock { $0 } == 30_000)
        #expect(log.all.count == LogBuffer.limit)
        #expect(log.all.last?.message == "line 29999\n")
    }
}
