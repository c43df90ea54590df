/// Shell-style glob matching over bytes: `*` any run (also across dots), `?` one byte.
///
/// Iterative with single backtracking point, so it runs in O(pattern × name) without recursion.
enum Glob {
    static func matches(_ pattern: [UInt8], _ name: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*"), any = UInt8(ascii: "?")
        var p = 0, n = 0
        var starAt = -1, resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == any || pattern[p] == name[n] && pattern[p] != star {
                p += 1; n += 1
            } else if p < pattern.count, pattern[p] == star {
                starAt = p; resume = n; p += 1
            } else if starAt >= 0 {
                p = starAt + 1; resume += 1; n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}
