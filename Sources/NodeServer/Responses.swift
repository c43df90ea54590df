import HTTPWire
import OrderedJSON

/// Response builders used by every route, so content types and error shapes stay uniform.
enum Reply {
    static let jsonType = "application/json; charset=utf-8"

    static func json(_ value: JSON, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": jsonType], body: .bytes(value.serializedBytes()))
    }

    /// ComfyUI-style empty answer ("404 empty", "200 empty").
    static func empty(_ status: Int = 200) -> HTTPResponse { HTTPResponse(status: status) }

    static func text(_ text: String, status: Int = 200, type: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": type], body: .bytes(Array(text.utf8)))
    }

    /// `{"error": message}` as the jobs and users endpoints answer failures.
    static func error(_ message: String, status: Int) -> HTTPResponse {
        json(.object(JSONObject([("error", .string(message))])), status: status)
    }

    /// ComfyUI's POST /prompt failure body.
    static func promptError(type: String, message: String, details: String, status: Int = 400) -> HTTPResponse {
        json(.object(JSONObject([
            ("error", .object(JSONObject([
                ("type", .string(type)), ("message", .string(message)),
                ("details", .string(details)), ("extra_info", .object(JSONObject())),
            ]))),
            ("node_errors", .object(JSONObject())),
        ])), status: status)
    }
}

extension HTTPRequest {
    /// The body as JSON, or nil when empty. Bodies are parsed whatever the Content-Type says,
    /// because the frontend posts JSON as text/plain.
    func jsonBody(maxDepth: Int = 256) -> Result<JSON?, JSONError> {
        if body.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { return .success(nil) }
        do { return .success(try JSON.parse(body, limits: JSONLimits(maxDepth: maxDepth, maxBytes: body.count))) } catch {
            return .failure(error)
        }
    }

    /// Query flag as ComfyUI reads it: "true"/"1" (case-insensitive) are true.
    func queryFlag(_ name: String, default value: Bool = false) -> Bool {
        guard let v = queryValue(name)?.lowercased() else { return value }
        return v == "true" || v == "1"
    }
}
