/// Closest-name suggestions for unknown layer names.
enum NameSuggestions {
    /// Names ranked by edit distance (ties: longer shared prefix, then list order), best first.
    ///
    /// Inputs are capped at 256 bytes so one lookup stays cheap against thousands of layer names.
    static func closest(to query: String, in names: [String], count: Int) -> [String] {
        let q = Array(query.utf8.prefix(256))
        var scored: [(distance: Int, prefix: Int, index: Int)] = []
        scored.reserveCapacity(names.count)
        var row = [Int](repeating: 0, count: q.count + 1)
        for (index, name) in names.enumerated() {
            let s = Array(name.utf8.prefix(256))
            for j in 0...q.count { row[j] = j }
            for i in 1...max(s.count, 1) where !s.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: q.count, by: 1) {
                    let cost = s[i - 1] == q[j - 1] ? 0 : 1
                    let value = min(row[j] + 1, row[j - 1] + 1, previous + cost)
                    previous = row[j]
                    row[j] = value
                }
            }
            let distance = s.isEmpty ? q.count : row[q.count]
            let prefix = zip(s, q).prefix { $0 == $1 }.count
            scored.append((distance, prefix, index))
        }
        scored.sort { a, b in
            a.distance != b.distance ? a.distance < b.distance : a.prefix != b.prefix ? a.prefix > b.prefix : a.index < b.index
        }
        return scored.prefix(count).map { names[$0.index] }
    }
}
