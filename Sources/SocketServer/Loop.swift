#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import HTTPWire

/// One serial I/O queue and the connections it owns. Every member except `queue` is touched
/// only on `queue` (checked with `dispatchPrecondition` in debug builds).
final class Loop: @unchecked Sendable {
    let queue: DispatchQueue
    let index: Int
    var connections: [ObjectIdentifier: Connection] = [:]
    /// Scratch buffer for reads: one per loop is enough because the loop is serial.
    let readBuffer: UnsafeMutableRawBufferPointer
    var timer: DispatchSourceTimer?
    var dateSecond: Int = -1
    var dateValue: String = ""

    init(index: Int) {
        self.index = index
        queue = DispatchQueue(label: "weightlens.io.\(index)", qos: .userInitiated)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    /// Starts the deadline sweep: one timer per loop instead of one per connection.
    func startTimer(tickSeconds: Double) {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + tickSeconds, repeating: tickSeconds, leeway: .milliseconds(5))
        t.setEventHandler { [unowned self] in self.sweep() }
        t.resume()
        timer = t
    }

    func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    func sweep() {
        let now = Socket.monotonicNanoseconds()
        for connection in Array(connections.values) where connection.deadline != 0 && now >= connection.deadline {
            connection.deadlinePassed()
        }
    }

    /// The `Date` header value, formatted at most once per second.
    func dateHeader() -> String {
        let now = time(nil)
        if Int(now) != dateSecond {
            dateSecond = Int(now)
            dateValue = HTTPDate.format(secondsSince1970: Int64(now))
        }
        return dateValue
    }
}

