import Foundation
import HTTPWire
import OrderedJSON

/// The `/api/jobs` view (frontend 1.58's queue and history panels) built from the queue and history.
extension NodeServerApp {
    static let jobStatuses = ["pending", "in_progress", "completed", "failed", "cancelled"]
    static let previewableKinds: [(key: String, mediaType: String)] = [("images", "images"), ("video", "video"), ("videos", "video"), ("audio", "audio"), ("gifs", "images")]

    struct Job {
        var json: JSONObject
        var status: String
        var createTime: Int64
        var duration: Int64?
        var workflowID: String?
    }

    func allJobs() -> [Job] {
        let (running, pending) = queue.snapshot()
        var jobs: [Job] = pending.map { job(for: $0, status: "pending") }
        if let running {
            var j = job(for: running, status: "in_progress")
            if let start = queue.runningStartTime { j.json.set("execution_start_time", .int(start)) }
            jobs.append(j)
        }
        for entry in queue.historyEntries() { jobs.append(job(for: entry)) }
        return jobs
    }

    func job(for item: QueueItem, status: String) -> Job {
        var o = JSONObject([("id", .string(item.promptID)), ("status", .string(status)),
                            ("priority", item.number), ("create_time", .int(item.createTime))])
        o.set("outputs_count", 0)
        let workflowID = item.extraData["extra_pnginfo"]?["workflow"]?["id"]?.stringValue
        if let workflowID { o.set("workflow_id", .string(workflowID)) }
        return Job(json: o, status: status, createTime: item.createTime, duration: nil, workflowID: workflowID)
    }

    func job(for entry: HistoryEntry) -> Job {
        let status: String
        if entry.statusString == "success" { status = "completed" }
        else if entry.interrupted || entry.failureMessage?.0 == "execution_interrupted" { status = "cancelled" }
        else { status = "failed" }
        var j = job(for: entry.item, status: status)
        var o = JSONObject([("id", .string(entry.item.promptID)), ("status", .string(status)),
                            ("priority", entry.item.number), ("create_time", .int(entry.item.createTime))])
        if let s = entry.executionStartTime { o.set("execution_start_time", .int(s)) }
        if let e = entry.executionEndTime { o.set("execution_end_time", .int(e)) }
        var outputsCount = 0
        var previewable = 0
        var firstOutput: JSON?
        var firstPreviewable: JSON?
        for (nodeID, output) in entry.outputs {
            guard let kinds = output.objectValue else { continue }
            for (key, value) in kinds {
                let items = value.arrayValue ?? []
                outputsCount += items.count
                guard let kind = Self.previewableKinds.first(where: { $0.key == key }) else { continue }
                previewable += items.count
                for item in items {
                    guard var ref = item.objectValue else { continue }
                    ref.set("nodeId", .string(nodeID))
                    ref.set("mediaType", .string(kind.mediaType))
                    if firstOutput == nil, ref["type"]?.stringValue == "output" { firstOutput = .object(ref) }
                    if firstPreviewable == nil { firstPreviewable = .object(ref) }
                }
            }
        }
        o.set("outputs_count", .number(outputsCount))
        o.set("previewable_outputs_count", .number(previewable))
        if let w = j.workflowID { o.set("workflow_id", .string(w)) }
        if let p = firstOutput ?? firstPreviewable { o.set("preview_output", p) }
        if status == "failed", let failure = entry.failureMessage, failure.0 == "execution_error" {
            o.set("execution_error", failure.1)
        }
        j.json = o
        if let s = entry.executionStartTime, let e = entry.executionEndTime { j.duration = e - s }
        return j
    }

    /// GET /api/jobs?status=&workflow_id=&sort_by=&sort_order=&limit=&offset=
    func getJobs(_ r: HTTPRequest) -> HTTPResponse {
        var wanted = Set(Self.jobStatuses)
        if let list = r.queryValue("status"), !list.isEmpty {
            let values = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let bad = values.filter { !Self.jobStatuses.contains($0) }
            if !bad.isEmpty {
                return Reply.error("Invalid status value(s): \(bad.joined(separator: ", ")). Valid values: \(Self.jobStatuses.joined(separator: ", "))", status: 400)
            }
            wanted = Set(values)
        }
        let sortBy = r.queryValue("sort_by") ?? "created_at"
        guard sortBy == "created_at" || sortBy == "execution_duration" else {
            return Reply.error("Invalid sort_by: \(sortBy). Valid values: created_at, execution_duration", status: 400)
        }
        let order = r.queryValue("sort_order") ?? "desc"
        guard order == "desc" || order == "asc" else {
            return Reply.error("Invalid sort_order: \(order). Valid values: asc, desc", status: 400)
        }
        var limit: Int?
        if let l = r.queryValue("limit") {
            guard let v = Int(l), v > 0 else { return Reply.error("limit must be a positive integer", status: 400) }
            limit = v
        }
        var offset = 0
        if let o = r.queryValue("offset") {
            guard let v = Int(o) else { return Reply.error("offset must be an integer", status: 400) }
            offset = max(0, v)
        }
        let workflowID = r.queryValue("workflow_id").flatMap { $0.isEmpty ? nil : $0 }
        var jobs = allJobs().filter { wanted.contains($0.status) && (workflowID == nil || $0.workflowID == workflowID) }
        jobs.sort { a, b in
            let (x, y) = sortBy == "created_at" ? (a.createTime, b.createTime) : (a.duration ?? -1, b.duration ?? -1)
            return order == "desc" ? x > y : x < y
        }
        let total = jobs.count
        let page = Array(jobs.dropFirst(offset).prefix(limit ?? Int.max))
        return Reply.json(.object(JSONObject([
            ("jobs", .array(page.map { .object($0.json) })),
            ("pagination", .object(JSONObject([
                ("offset", .number(offset)), ("limit", .number(limit ?? total)),
                ("total", .number(total)), ("has_more", .bool(offset + page.count < total)),
            ]))),
        ])))
    }

    /// GET /api/jobs/{id}: the job plus outputs, execution_status and the workflow.
    func getJob(_ id: String) -> HTTPResponse {
        if let entry = queue.historyEntry(id) {
            var o = job(for: entry).json
            o.set("outputs", .object(entry.outputs))
            o.set("execution_status", entry.json["status"] ?? .null)
            o.set("workflow", .object(JSONObject([("prompt", entry.item.prompt), ("extra_data", .object(entry.item.extraData))])))
            return Reply.json(.object(o))
        }
        let (running, pending) = queue.snapshot()
        for (item, status) in (running.map { [($0, "in_progress")] } ?? []) + pending.map({ ($0, "pending") }) where item.promptID == id {
            var o = job(for: item, status: status).json
            o.set("workflow", .object(JSONObject([("prompt", item.prompt), ("extra_data", .object(item.extraData))])))
            return Reply.json(.object(o))
        }
        return Reply.error("Job not found", status: 404)
    }

    func cancel(_ id: String) -> Bool {
        if queue.interrupt(promptID: id) { return true }
        if queue.deletePending([id]) > 0 { broadcastStatus(); return true }
        return false
    }

    func cancelJob(_ id: String) -> HTTPResponse {
        Reply.json(.object(JSONObject([("cancelled", .bool(cancel(id)))])))
    }

    func cancelJobs(_ r: HTTPRequest) -> HTTPResponse {
        guard let ids = (try? r.jsonBody().get())?["job_ids"]?.arrayValue else {
            return Reply.error("job_ids must be a list", status: 400)
        }
        var strings: [String] = []
        for id in ids {
            guard let s = id.stringValue, Self.isCanonicalUUID(s) else {
                return Reply.error("Invalid job id: \(id.serialized())", status: 400)
            }
            strings.append(s)
        }
        var any = false
        for s in strings { any = cancel(s) || any }
        return Reply.json(.object(JSONObject([("cancelled", .bool(any))])))
    }
}
