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
/// so the file is never printed twice. Throw `CLIError.failure(file:message:)` for problems found by
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
        if let subject, sentence.hasPrefix(subject + ": ") { sentence.removeFirst(subject.count + 2) }
        sentence = sentence.split(whereSeparator: \.isNewline).joined(separator: " ")
        if let subject { return "weightlens: \(subject): \(sentence)" }
        return "weightlens: \(sentence)"
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
