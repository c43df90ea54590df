#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import HTTPWire
import Synchronization

/// State shared by every connection of one server. All members are immutable or synchronized.
final class ServerCore: @unchecked Sendable {
    let configuration: ServerConfiguration
    let service: any HTTPService
    let policy: RequestPolicy
    let logger: Logger
    let tls: TLSContext?
    /// Services and WebSocket callbacks run here, never on an I/O loop.
    let workers = DispatchQueue.global(qos: .userInitiated)
    let connectionCount = Atomic<Int>(0)
    let shuttingDown = Atomic<Bool>(false)
    let webSocketIDs = Atomic<Int>(0)
    let webSockets = Mutex<[Int: WebSocketHandle]>([:])
    /// Called once when shutdown has begun and the last connection is gone.
    let stopWaiters = Mutex<(stopped: Bool, callbacks: [@Sendable () -> Void])>((false, []))

    init(configuration: ServerConfiguration, service: any HTTPService, tls: TLSContext?) {
        self.configuration = configuration
        self.service = service
        self.policy = RequestPolicy(configuration)
        self.logger = Logger(level: configuration.logLevel)
        self.tls = tls
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    func nextWebSocketID() -> Int { webSocketIDs.add(1, ordering: .relaxed).newValue }

    func webSocketOpened(_ handle: WebSocketHandle) {
        webSockets.withLock { $0[handle.id] = handle }
    }

    func webSocketClosed(_ handle: WebSocketHandle) {
        handle.isClosed.store(true, ordering: .relaxed)
        let removed = webSockets.withLock { $0.removeValue(forKey: handle.id) } != nil
        if removed {
            let service = self.service
            handle.callbackQueue.async { service.webSocketDidClose(handle) }
        }
    }

    func connectionClosed() {
        let left = connectionCount.subtract(1, ordering: .acquiringAndReleasing).newValue
        if left == 0 && isShuttingDown { markStopped() }
    }

    func markStopped() {
        let callbacks: [@Sendable () -> Void] = stopWaiters.withLock { state in
            if state.stopped { return [] }
            state.stopped = true
            let c = state.callbacks
            state.callbacks = []
            return c
        }
        for c in callbacks { c() }
    }
}

/// An HTTP/1.1 + WebSocket server on POSIX sockets and Dispatch, optionally over TLS.
///
/// ```swift
/// let server = try HTTPServer(configuration: config, service: myService)
/// try server.start()
/// server.stopOnSignals()      // SIGINT/SIGTERM → graceful shutdown
/// server.waitUntilStopped()
/// ```
public final class HTTPServer: Sendable {
    let core: ServerCore
    let loops: [Loop]
    let state = Mutex<ListenState>(ListenState())

    struct ListenState {
        var started = false
        var listeners: [(fd: Int32, source: DispatchSourceRead, address: String, port: Int)] = []
        var signalSources: [DispatchSourceSignal] = []
        var acceptPausedUntil: UInt64 = 0
    }

    let acceptQueue = DispatchQueue(label: "weightlens.accept", qos: .userInitiated)
    let roundRobin = Atomic<Int>(0)

    public init(configuration: ServerConfiguration, service: any HTTPService) throws(ServerError) {
        var tls: TLSContext?
        if let cert = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
            tls = try TLSContext(certificatePath: cert, keyPath: key)
        } else if configuration.tlsCertificatePath != nil || configuration.tlsKeyPath != nil {
            throw .tls("both a certificate file and a key file are needed")
        }
        core = ServerCore(configuration: configuration, service: service, tls: tls)
        var made: [Loop] = []
        for i in 0..<max(1, configuration.loopCount) { made.append(try Loop(index: i)) }
        loops = made
    }

    /// A server dropped without `shutdown` still releases its listening sockets.
    deinit {
        let sources = state.withLock { s in UncheckedBox(s.listeners.map(\.source) + s.signalSources.map { $0 as DispatchSourceProtocol }) }
        for source in sources.value { source.cancel() }
    }

    public var configuration: ServerConfiguration { core.configuration }

    /// Binds every configured host and starts accepting.
    public func start() throws(ServerError) {
        signal(SIGPIPE, SIG_IGN)
        try state.withLock { (s: inout ListenState) throws(ServerError) in
            if s.started { throw .alreadyStarted }
            var port = core.configuration.port
            var opened: [(Int32, String, Int)] = []
            do throws(ServerError) {
                for host in core.configuration.hosts {
                    for address in try Socket.addresses(host: host, port: port) {
                        let label = "\(host) port \(port)"
                        let fd = try Socket.listen(family: address.family, storage: address.storage, length: address.length, label: label)
                        let actual = Socket.localPort(fd)
                        if port == 0 { port = actual }  // the other hosts share the first ephemeral port
                        opened.append((fd, Socket.describe(address.storage), actual))
                    }
                }
            } catch {
                for (fd, _, _) in opened { Glibc.close(fd) }
                throw error
            }
            for (fd, address, p) in opened {
                let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
                source.setEventHandler { [weak self] in self?.acceptAll(fd, source) }
                source.setCancelHandler { Glibc.close(fd) }
                source.resume()
                s.listeners.append((fd, source, address, p))
            }
            s.started = true
        }
        let c = core.configuration
        let shortest = min(c.headerTimeoutSeconds, c.bodyTimeoutSeconds, c.idleTimeoutSeconds, c.writeTimeoutSeconds, 2)
        let tick = min(1, max(0.01, shortest / 4))
        for loop in loops { loop.queue.async { loop.startPolling(); loop.startTimer(tickSeconds: tick) } }
    }

    /// The ports actually bound, one per listening socket (useful with port 0).
    public var boundPorts: [Int] { state.withLock { $0.listeners.map(\.port) } }
    /// `address:port` of each listening socket (`[::1]:8188` for IPv6).
    public var boundAddresses: [String] {
        state.withLock { $0.listeners.map { $0.address.contains(":") ? "[\($0.address)]:\($0.port)" : "\($0.address):\($0.port)" } }
    }
    /// The first bound port.
    public var port: Int { boundPorts.first ?? 0 }
    /// Open connections, HTTP and WebSocket.
    public var connectionCount: Int { core.connectionCount.load(ordering: .relaxed) }
    /// Open WebSockets.
    public var webSocketCount: Int { core.webSockets.withLock { $0.count } }

    /// Sends one text message to every open WebSocket; the frame is encoded once.
    public func broadcast(text: String) { broadcast(frame: WebSocketFrame.text(text)) }
    /// Sends one binary message to every open WebSocket.
    public func broadcast(binary: [UInt8]) { broadcast(frame: WebSocketFrame.binary(binary)) }

    func broadcast(frame: [UInt8]) {
        let handles = core.webSockets.withLock { Array($0.values) }
        for h in handles { h.enqueue(frame) }
    }

    func acceptAll(_ listenFD: Int32, _ source: DispatchSourceRead) {
        for _ in 0..<256 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listenFD, $0, &length)
                }
            }
            if fd >= 0 {
                // accept4 is not visible without _GNU_SOURCE, so set the flags separately.
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            if fd < 0 {
                let e = errno
                if e == EINTR || e == ECONNABORTED { continue }
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // Out of descriptors: the listen socket stays readable, so back off instead of spinning.
                    core.logger.log(.error, "accept failed: \(String(cString: strerror(e))); pausing accepts for 100 ms")
                    source.suspend()
                    nonisolated(unsafe) let paused = source
                    acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { paused.resume() }
                }
                return
            }
            if core.isShuttingDown { Glibc.close(fd); continue }
            if core.connectionCount.add(1, ordering: .relaxed).newValue > core.configuration.maxConnections {
                core.connectionCount.subtract(1, ordering: .relaxed)
                refuse(fd)
                continue
            }
            Socket.setNoDelay(fd)
            let ssl = core.tls?.makeSession(fd: fd)
            if core.tls != nil && ssl == nil { Glibc.close(fd); core.connectionClosed(); continue }
            let loop = loops[roundRobin.add(1, ordering: .relaxed).newValue % loops.count]
            let connection = Connection(fd: fd, loop: loop, core: core, remoteAddress: Socket.describe(storage), ssl: ssl)
            loop.queue.async { connection.start() }
        }
    }

    static let refusal = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 33\r\nRetry-After: 1\r\nConnection: close\r\n\r\nToo many connections, try again.\n".utf8)

    /// Over the connection cap: a best-effort 503 on plain sockets, then close.
    func refuse(_ fd: Int32) {
        if core.tls == nil {
            _ = HTTPServer.refusal.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Glibc.shutdown(fd, Int32(SHUT_WR))
        }
        core.logger.log(.warning, "connection refused: \(core.configuration.maxConnections) connections are open")
        Glibc.close(fd)
    }

    /// Stops accepting, lets in-flight responses finish, sends close 1001 to WebSockets, and
    /// force-closes whatever is left after `shutdownGraceSeconds` (at once when not graceful).
    public func shutdown(graceful: Bool = true, completion: (@Sendable () -> Void)? = nil) {
        if let completion {
            let runNow = core.stopWaiters.withLock { s -> Bool in
                if s.stopped { return true }
                s.callbacks.append(completion)
                return false
            }
            if runNow { completion(); return }
        }
        let first = !core.shuttingDown.exchange(true, ordering: .acquiringAndReleasing)
        if first {
            let listeners = state.withLock { s -> [DispatchSourceRead] in
                let l = s.listeners.map(\.source)
                return l
            }
            for l in listeners { l.cancel() }
        }
        for loop in loops {
            loop.queue.async {
                for c in Array(loop.connections.values) {
                    if graceful { c.beginShutdown() } else { c.close() }
                }
            }
        }
        if core.connectionCount.load(ordering: .acquiring) == 0 { core.markStopped() }
        if graceful && first {
            let grace = core.configuration.shutdownGraceSeconds
            DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [self] in
                for loop in loops { loop.queue.async { for c in Array(loop.connections.values) { c.close() } } }
            }
        }
    }

    /// Blocks the calling thread until a shutdown has completed.
    public func waitUntilStopped() {
        let done = DispatchSemaphore(value: 0)
        let already = core.stopWaiters.withLock { s -> Bool in
            if s.stopped { return true }
            s.callbacks.append { done.signal() }
            return false
        }
        if !already { done.wait() }
        for loop in loops { loop.queue.sync { loop.stopTimer(); loop.stopPolling() } }
    }

    /// SIGINT or SIGTERM starts a graceful shutdown; a second one forces it.
    public func stopOnSignals() {
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)  // Dispatch sees the signal only when the default action is off.
            let s = DispatchSource.makeSignalSource(signal: sig, queue: acceptQueue)
            s.setEventHandler { [weak self] in
                guard let self else { return }
                let again = core.isShuttingDown
                core.logger.log(.warning, again ? "second signal: closing every connection now" : "shutting down: finishing in-flight requests")
                shutdown(graceful: !again)
            }
            s.resume()
            return s
        }
        let kept = UncheckedBox(sources)
        state.withLock { $0.signalSources.append(contentsOf: kept.value) }
    }
}

/// Carries a Dispatch object (not `Sendable` in the Linux overlay) into a lock; the object is
/// only stored there to keep it alive, never used concurrently.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
