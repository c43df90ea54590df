import ArgumentParser
import Foundation

/// The one way every `weightlens` command reports a failure.
///
/// A failure is one line on stderr, `weightlens: <file>: <one sentence>`, and exit status 1 —
/// never a crash, a signal or a stack trace. Commands wrap their work in `CLIError.run(file:)`:
///
/// ```swift
/// func run() throws {
///     try CLIError.run(file: file) {
///         let checkpoint = try CheckpointFile.open(path: file)
///         …
///     }
/// }
/// ```
///
/// Any error works: the sentence is the error's `description` (`CustomStringConvertible`), with a
/// leading `"<file>: "` removed when the error already names the file (as `CheckpointError` does),
/// so the file is never printed twice. An error that starts with a file derived from the command's
/// (`<file>.part: …`, `<folder>/x: …`) is printed under its own name alone. A sentence ending in
/// "..", as when a Foundation reason ending in "." is wrapped in a sentence that adds another,
/// loses the extra full stop. Throw `CLIError.failure(file:message:)` for problems found by
/// the command itself (bad option values, missing output folder…).
public enum CLIError {
    /// A problem detected by a command itself; `file` nil when no file is involved.
    public struct Failure: Error, CustomStringConvertible {
        public let file: String?
        public let message: String
        public var description: String { message }
    }

    /// A command-level failure about `file`.
    public static func failure(file: String?, _ message: String) -> Failure { Failure(file: file, message: message) }

    /// The line printed for `error` (without the newline).
    public static func message(for error: any Error, file: String?) -> String {
        var subject = file
        var sentence: String
        if let f = error as? Failure {
            subject = f.file  // nil: a problem with the arguments, not with a file
            sentence = f.message
        } else {
            sentence = String(describing: error)  // the error's `description` when it has one
        }
        sentence = sentence.split(whereSeparator: \.isNewline).joined(separator: " ")
        sentence = tidied(sentence)
        if let s = subject, !s.isEmpty {
            if sentence.hasPrefix(s + ": ") {
                sentence.removeFirst(s.count + 2)
            } else if let colon = sentence.range(of: ": ") {
                // The error names a file that extends the command's own (a temporary or inner
                // file): that name is the more precise one, so it stands alone.
                let head = sentence[..<colon.lowerBound]
                if head.count > s.count, head.hasPrefix(s), !head.dropFirst(s.count).contains(" ") { subject = nil }
            }
        }
        if let subject, !subject.isEmpty { return "weightlens: \(subject): \(sentence)" }
        return "weightlens: \(sentence)"
    }

    /// The short reason for a Foundation file error: the system's words for the underlying POSIX
    /// error ("No such file or directory") when there is one, since Foundation's own text on Linux
    /// is two sentences ("The operation could not be completed. The file doesn't exist.").
    public static func reason(_ error: any Error) -> String {
        // On Linux the underlying error is stored as a Swift `Error`, not as an `NSError`.
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return clause(error.localizedDescription)
    }

    /// `text` without trailing full stops and spaces, for quoting a reason (often a Foundation
    /// sentence ending in ".") inside a sentence of our own.
    public static func clause(_ text: String) -> String {
        var s = Substring(text)
        while let last = s.last, last == "." || last == " " { s.removeLast() }
        return String(s)
    }

    /// `sentence` without a doubled final full stop ("doesn't exist.." → "doesn't exist."); an
    /// ellipsis ("...") is left alone.
    static func tidied(_ sentence: String) -> String {
        var s = Substring(sentence)
        while s.last == " " { s.removeLast() }
        if s.hasSuffix(".."), !s.hasSuffix("...") { s.removeLast() }
        return String(s)
    }

    /// Writes the message for `error` to stderr.
    public static func report(_ error: any Error, file: String?) {
        FileHandle.standardError.write(Data((message(for: error, file: file) + "\n").utf8))
    }

    /// Runs `body`; on any error prints the one-line message and exits with status 1.
    ///
    /// ArgumentParser's own exit requests (`ExitCode`, `CleanExit`) pass through untouched.
    public static func run(file: String?, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ExitCode {
            throw e
        } catch let e as CleanExit {
            throw e
        } catch {
            report(error, file: file)
            throw ExitCode(1)
        }
    }
}
