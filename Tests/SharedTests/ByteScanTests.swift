import Testing
@testable import Shared

/// The word-at-a-time searches against a byte-by-byte search, at every start and end, on bytes
/// chosen to put matches, near-matches (0x1F, 0x20, 0x21, 0x5B, 0x5D, 0x7F, 0x80, 0xFF) and
/// borrow-carrying neighbours at every position of a word.
@Suite struct ByteScanTests {
    static let alphabet: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x41, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xC3, 0xFF, 0x61]

    static func samples() -> [[UInt8]] {
        var generator = SystemRandomNumberGenerator()
        var samples: [[UInt8]] = [[], Array(repeating: 0x61, count: 40)]
        for length in [1, 7, 8, 9, 15, 16, 17, 33, 70] {
            for _ in 0..<60 {
                // Mostly plain bytes, so the one that matches can sit anywhere.
                samples.append((0..<length).map { _ in
                    Int.random(in: 0..<4, using: &generator) == 0 ? alphabet.randomElement(using: &generator)! : 0x61
                })
            }
        }
        return samples
    }

    func check(_ fast: (UnsafePointer<UInt8>, Int, Int) -> Int, _ slow: (UInt8) -> Bool) {
        for sample in Self.samples() {
            sample.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for start in 0...p.count {
                    for end in start...p.count {
                        let expected = (start..<end).first { slow(p[$0]) } ?? end
                        #expect(fast(base, start, end) == expected, "\(sample) \(start)..<\(end)")
                    }
                }
            }
        }
    }

    @Test func quoteOrBackslash() {
        check({ ByteScan.quoteOrBackslash($0, from: $1, end: $2) }) { $0 == 0x22 || $0 == 0x5C }
    }

    @Test func quoteBackslashOrControl() {
        check({ ByteScan.quoteBackslashOrControl($0, from: $1, end: $2) }) { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }
    }

    @Test func nonASCII() {
        check({ ByteScan.nonASCII($0, from: $1, end: $2) }) { $0 >= 0x80 }
    }
}
