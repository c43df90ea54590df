import Testing
@testable import OrderedJSON

@Suite struct OrderedJSONTests {
    @Test func objectKeys_keepInsertionOrder() throws {
        let json = try JSON.parse(#"{"z":1,"a":2,"m":{"y":true,"b":null}}"#)
        #expect(json.objectValue?.keys == ["z", "a", "m"])
        #expect(json["m"]?.objectValue?.keys == ["y", "b"])
        #expect(json.serialized() == #"{"z":1,"a":2,"m":{"y":true,"b":null}}"#)
    }

    @Test func duplicateKeys_keepFirstPositionAndLastValue() throws {
        let json = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(json.serialized() == #"{"a":3,"b":2}"#)
    }

    @Test(arguments: [
        ("0", JSON.int(0)), ("-12", .int(-12)), ("1.5", .double(1.5)), ("1e3", .double(1000)),
        ("9223372036854775807", .int(Int64.max)), ("9223372036854775808", .double(9223372036854775808)),
        ("-0.25", .double(-0.25)),
    ])
    func numbers_parseExactly(text: String, expected: JSON) throws {
        #expect(try JSON.parse(text) == expected)
    }

    @Test func pythonNonFiniteLiterals_parse_andSerializeAsNull() throws {
        let json = try JSON.parse("[NaN, Infinity, -Infinity]")
        #expect(json[0]?.doubleValue?.isNaN == true)
        #expect(json[1]?.doubleValue == .infinity)
        #expect(json[2]?.doubleValue == -.infinity)
        #expect(json.serialized() == "[null,null,null]")
    }

    @Test func strings_roundTripEscapesAndUnicode() throws {
        let text = #""a\"b\\c\n\t\u00e9\ud83d\ude00\u0001/""#
        let json = try JSON.parse(text)
        #expect(json.stringValue == "a\"b\\c\n\té😀\u{01}/")
        #expect(try JSON.parse(json.serialized()) == json)
    }

    @Test func loneSurrogate_becomesReplacementCharacter() throws {
        #expect(try JSON.parse(#""\ud800x""#).stringValue == "\u{FFFD}x")
    }

    @Test(arguments: ["", "{", "[1,", #"{"a" 1}"#, "01", "1.", "-", "tru", #""\x""#, "[1]x", "\"\u{01}\"", "{,}", "[,]", #"{"a":1,}"#])
    func malformedText_isRejected(text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func invalidUTF8_isRejected() {
        #expect(throws: JSONError.self) { try JSON.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func deepNesting_isRefusedAtTheLimit() throws {
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSON.parse(ok, limits: JSONLimits(maxDepth: 100)) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONError.self) { try JSON.parse(deep) }
    }

    @Test func oversizedInput_isRefused() {
        #expect(throws: JSONError.tooLarge(byteCount: 11, limit: 10)) {
            try JSON.parse(Array("[1,2,3,4,5]".utf8), limits: JSONLimits(maxBytes: 10))
        }
    }

    @Test func objectMutation_replacesInPlaceAndRemoves() {
        var o = JSONObject([("a", 1), ("b", 2), ("c", 3)])
        o["b"] = "x"
        #expect(o.keys == ["a", "b", "c"])
        o["a"] = nil
        #expect(o.keys == ["b", "c"])
        #expect(o["c"] == 3)
        o["d"] = [1, 2]
        #expect(JSON.object(o).serialized() == #"{"b":"x","c":3,"d":[1,2]}"#)
    }

    @Test func doubles_keepAFraction() {
        #expect(JSON.double(1).serialized() == "1.0")
        #expect(JSON.double(0.1).serialized() == "0.1")
    }

    @Test func prettyOutput_isIndented() {
        let json: JSON = ["a": [1, 2], "b": [:]]
        #expect(json.serialized(pretty: true) == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}")
    }

    @Test func byteByByteSplit_neverMatters() throws {
        // The parser works on a whole buffer; this checks every prefix is rejected (incomplete)
        // and only the whole text parses.
        let text = Array(#"{"k":[1,2.5,"s",{"n":null}]}"#.utf8)
        for cut in 1..<text.count {
            #expect(throws: JSONError.self) { try JSON.parse(Array(text[0..<cut])) }
        }
        #expect(throws: Never.self) { try JSON.parse(text) }
    }
}
