@testable import NodeServer
import OrderedJSON
import Testing

@Suite struct PromptQueueTests {
    func item(_ id: String, _ number: Double, bytes: Int = 10) -> QueueItem {
        QueueItem(number: .double(number), sortKey: number, promptID: id, prompt: .object(JSONObject()),
                  extraData: JSONObject([("client_id", "c")]), outputsToExecute: ["1"], createTime: 0, byteCount: bytes)
    }

    func entry(_ item: QueueItem) -> HistoryEntry {
        HistoryEntry(item: item, outputs: JSONObject(), meta: JSONObject(), statusString: "success", completed: true,
                     interrupted: false, messages: [], executionStartTime: 1, executionEndTime: 2)
    }

    @Test func pending_runsLowestNumberFirst_tiesByPromptID() {
        let q = PromptQueue()
        q.enqueue(item("b", 2)); q.enqueue(item("z", 1)); q.enqueue(item("a", 1))
        #expect(q.remaining == 3)
        #expect(q.startNext(now: 0)?.promptID == "a")
        #expect(q.startNext(now: 0) == nil)  // one running at a time
        #expect(q.remaining == 3)
        q.finish(entry(item("a", 1)))
        #expect(q.startNext(now: 0)?.promptID == "z")
    }

    @Test func queueItem_isTheFiveElementArray() {
        let json = item("p", 3).json
        #expect(json.arrayValue?.count == 5)
        #expect(json[1]?.stringValue == "p")
        #expect(json[4] == .array(["1"]))
    }

    @Test func deleteAndClear_touchOnlyPendingItems() {
        let q = PromptQueue()
        q.enqueue(item("run", 0)); q.enqueue(item("p1", 1)); q.enqueue(item("p2", 2))
        _ = q.startNext(now: 0)
        #expect(q.deletePending(["run", "p1"]) == 1)
        #expect(q.clearPending() == 1)
        #expect(q.snapshot().running?.promptID == "run")
    }

    @Test func interrupt_onlyMatchesTheRunningPrompt() {
        let q = PromptQueue()
        #expect(!q.interrupt())
        q.enqueue(item("x", 0)); _ = q.startNext(now: 0)
        #expect(!q.interrupt(promptID: "other"))
        #expect(!q.isInterruptRequested)
        #expect(q.interrupt(promptID: "x"))
        #expect(q.isInterruptRequested)
        q.finish(entry(item("x", 0)))
        #expect(!q.isInterruptRequested)
    }

    @Test func history_isBoundedByCountAndBytes_oldestEvicted() {
        let q = PromptQueue(historyLimit: 3, historyByteBudget: 100)
        for i in 0..<5 { q.finish(entry(item("h\(i)", Double(i)))) }
        #expect(q.historyEntries().map(\.item.promptID) == ["h2", "h3", "h4"])
        q.finish(entry(item("big", 9, bytes: 95)))
        #expect(q.historyEntries().map(\.item.promptID) == ["big"])
    }
}
