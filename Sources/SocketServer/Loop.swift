#if canImport(Glibc)
import Glibc
#endif
import CLibEpoll
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

    /// This loop's epoll set. Dispatch watches it with a single read source, so one Dispatch
    /// event delivers every ready connection of the loop instead of one event per socket
    /// (per-socket sources cost a manager-thread hop and a re-arm each).
    let epollFD: Int32
    var epollSource: DispatchSourceRead?
    var byDescriptor: [Int32: Connection] = [:]
    let events: UnsafeMutablePointer<epoll_event>
    static let eventCapacity: Int32 = 256

    init(index: Int) throws(ServerError) {
        self.index = index
        queue = DispatchQueue(label: "weightlens.io.\(index)", qos: .userInitiated)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw Socket.fail("epoll_create1", "I/O loop \(index)") }
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(Loop.eventCapacity))
    }

    deinit {
        readBuffer.deallocate()
        events.deallocate()
        Glibc.close(epollFD)
    }

    /// Starts delivering socket events on `queue`.
    func startPolling() {
        let source = DispatchSource.makeReadSource(fileDescriptor: epollFD, queue: queue)
        source.setEventHandler { [weak self] in self?.poll() }
        source.resume()
        epollSource = source
    }

    func stopPolling() {
        epollSource?.cancel()
        epollSource = nil
    }

    /// Harvests ready sockets without blocking and hands each to its connection.
    func poll() {
        for _ in 0..<4 {
            let n = epoll_wait(epollFD, events, Loop.eventCapacity, 0)
            if n <= 0 { return }
            for i in 0..<Int(n) {
                let flags = events[i].events
                let fd = events[i].data.fd
                guard let c = byDescriptor[fd], !c.closed else { continue }
                let readable = flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0
                let failed = flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
                if c.wantRead && (readable || failed) { c.onReadable() }
                if !c.closed && c.wantWrite && (flags & EPOLLOUT.rawValue != 0 || failed) { c.onWritable() }
                // Hang-up or error reported while neither direction is wanted: nothing will clear it.
                if !c.closed && failed && !c.wantRead && !c.wantWrite { c.close() }
            }
            if n < Loop.eventCapacity { return }
        }
    }

    func interest(_ c: Connection) -> UInt32 {
        (c.wantRead ? EPOLLIN.rawValue | EPOLLRDHUP.rawValue : 0) | (c.wantWrite ? EPOLLOUT.rawValue : 0)
    }

    func register(_ c: Connection) -> Bool {
        var ev = epoll_event()
        ev.events = interest(c)
        ev.data.fd = c.fd
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, c.fd, &ev) == 0 else {
            core_log_unavailable(errno)
            return false
        }
        byDescriptor[c.fd] = c
        return true
    }

    func updateInterest(_ c: Connection) {
        guard !c.closed else { return }
        var ev = epoll_event()
        ev.events = interest(c)
        ev.data.fd = c.fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, c.fd, &ev)
    }

    func unregister(_ c: Connection) {
        if byDescriptor[c.fd] === c {
            byDescriptor[c.fd] = nil
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, c.fd, nil)
        }
    }

    private func core_log_unavailable(_ e: Int32) {
        let message = "epoll_ctl failed: errno \(e)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
    }

    /// Starts the deadline sweep: one timer per loop instead of one per connection.
    func startTimer(tickSeconds: Double) {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + tickSeconds, repeating: tickSeconds, leeway: .milliseconds(5))
        t.setEventHandler { [weak self] in self?.sweep() }
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

