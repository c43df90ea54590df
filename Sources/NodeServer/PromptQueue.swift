import OrderedJSON
import Synchronization

/// The prompt queue and the bounded history, shared by request handlers and the worker.
///
/// All state sits behind one `Mutex`, held only for short bookkeeping (never across execution or
/// I/O). Moving an item from running to history happens in one critical section, so a client
/// that sees `queue_remaining` drop never finds a missing or partial history entry.
public final class PromptQueue: Sendable {
    /// Records kept; ComfyUI keeps 10 000.
    public let historyLimit: Int
    /// Request bytes kept across history records, so huge prompts cannot pile up without bound.
    public let historyByteBudget: Int

    struct State {
        var counter: Int64 = 0
        var pending: [QueueItem] = []
        var running: QueueItem?
        var runningStart: Int64?
        var lastExecutingNode: String?
        var interruptRequested = false
        var history: [String: HistoryEntry] = [:]
        var historyOrder: [String] = []
        var historyBytes = 0
    }

    let state = Mutex(State())

    public init(historyLimit: Int = 10_000, historyByteBudget: Int = 256 << 20) {
        self.historyLimit = historyLimit
        self.historyByteBudget = historyByteBudget
    }

    // MARK: Numbers

    /// The next server counter value; every POST /prompt without `number` takes one, even rejected ones.
    public func takeNumber() -> Int64 {
        state.withLock { s in defer { s.counter += 1 }; return s.counter }
    }

    // MARK: Queue

    public func enqueue(_ item: QueueItem) { state.withLock { $0.pending.append(item) } }

    /// Pending plus running, as `exec_info.queue_remaining` counts them.
    public var remaining: Int { state.withLock { $0.pending.count + ($0.running == nil ? 0 : 1) } }

    /// Takes the next pending item and marks it running; nil when none is pending.
    public func startNext(now: Int64) -> QueueItem? {
        state.withLock { s in
            guard s.running == nil, let index = s.pending.indices.min(by: { QueueItem.runsBefore(s.pending[$0], s.pending[$1]) }) else { return nil }
            let item = s.pending.remove(at: index)
            s.running = item
            s.runningStart = now
            s.lastExecutingNode = nil
            s.interruptRequested = false
            return item
        }
    }

    /// Stores the finished entry and clears the running slot atomically.
    public func finish(_ entry: HistoryEntry) {
        state.withLock { s in
            s.running = nil
            s.runningStart = nil
            s.lastExecutingNode = nil
            s.interruptRequested = false
            let id = entry.item.promptID
            if let old = s.history[id] {
                s.historyBytes -= old.item.byteCount
                s.historyOrder.removeAll { $0 == id }
            }
            s.history[id] = entry
            s.historyOrder.append(id)
            s.historyBytes += entry.item.byteCount
            var drop = 0
            while s.historyOrder.count - drop > historyLimit || (s.historyBytes > historyByteBudget && s.historyOrder.count - drop > 1) {
                let old = s.historyOrder[drop]
                if let e = s.history.removeValue(forKey: old) { s.historyBytes -= e.item.byteCount }
                drop += 1
            }
            if drop > 0 { s.historyOrder.removeFirst(drop) }
        }
    }

    /// (running, pending sorted in run order).
    public func snapshot() -> (running: QueueItem?, pending: [QueueItem]) {
        state.withLock { s in (s.running, s.pending.sorted(by: QueueItem.runsBefore)) }
    }

    /// Removes pending items whose ids are listed (never the running one). Returns how many.
    @discardableResult
    public func deletePending(_ ids: Set<String>) -> Int {
        state.withLock { s in
            let before = s.pending.count
            s.pending.removeAll { ids.contains($0.promptID) }
            return before - s.pending.count
        }
    }

    @discardableResult
    public func clearPending() -> Int {
        state.withLock { s in defer { s.pending.removeAll() }; return s.pending.count }
    }

    // MARK: Interrupt

    /// Requests an interrupt of the running prompt (only of `promptID` when given). Returns whether one was requested.
    @discardableResult
    public func interrupt(promptID: String? = nil) -> Bool {
        state.withLock { s in
            guard let running = s.running else { return false }
            if let promptID, promptID != running.promptID { return false }
            s.interruptRequested = true
            return true
        }
    }

    public var isInterruptRequested: Bool { state.withLock { $0.interruptRequested } }

    /// Remembers the node the running prompt last announced with `executing` (sent to a client that reconnects).
    public func noteExecuting(_ node: String?) { state.withLock { $0.lastExecutingNode = node } }

    /// The running prompt's client id and last executing node.
    public func runningClient() -> (clientID: String?, node: String?)? {
        state.withLock { s in s.running.map { ($0.clientID, s.lastExecutingNode) } }
    }

    public var runningStartTime: Int64? { state.withLock { $0.runningStart } }

    // MARK: History

    /// Entries oldest first.
    public func historyEntries() -> [HistoryEntry] {
        state.withLock { s in s.historyOrder.compactMap { s.history[$0] } }
    }

    public func historyEntry(_ id: String) -> HistoryEntry? { state.withLock { $0.history[id] } }

    public func deleteHistory(_ ids: Set<String>) {
        state.withLock { s in
            for id in ids { if let e = s.history.removeValue(forKey: id) { s.historyBytes -= e.item.byteCount } }
            s.historyOrder.removeAll { ids.contains($0) }
        }
    }

    public func clearHistory() {
        state.withLock { s in s.history.removeAll(); s.historyOrder.removeAll(); s.historyBytes = 0 }
    }
}
