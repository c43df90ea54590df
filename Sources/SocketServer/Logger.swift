import Foundation

/// Writes log lines to standard error, filtered by level. Thread-safe (one `fputs` per line).
struct Logger: Sendable {
    let level: LogLevel

    func log(_ messageLevel: LogLevel, _ message: @autoclosure () -> String) {
        guard messageLevel >= level, level != .none else { return }
        var line = message() + "\n"
        line.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
    }

    var accessLogEnabled: Bool { level <= .info }
}
