/// Percent-encoding as AWS specifies it for SigV4 and S3 keys: every byte of
/// the UTF-8 form except the unreserved `A-Z a-z 0-9 - _ . ~` becomes `%XX`
/// (upper-case hex); `/` is kept only where asked (S3 key paths).
public enum AWSURIEncoding {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95 || c == 46 || c == 126
    }

    /// Encodes `text`; keeps `/` unencoded when `keepSlash` is set.
    public static func encode(_ text: some StringProtocol, keepSlash: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            if isUnreserved(c) || (keepSlash && c == 47) {
                out.append(c)
            } else {
                out.append(37)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` sequences (not `+`); malformed sequences stay as they are.
    public static func decode(_ text: some StringProtocol) -> String {
        let bytes = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        while i < bytes.count {
            if bytes[i] == 37, i + 2 < bytes.count, let hi = value(bytes[i + 1]), let lo = value(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A query string from parameters, encoded and in the given order.
    public static func query(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
