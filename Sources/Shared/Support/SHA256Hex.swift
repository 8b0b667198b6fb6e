import Crypto
import Foundation

/// Lower-case hexadecimal SHA-256 of a byte buffer.
public enum SHA256Hex {
    public static func of(_ data: Data) -> String {
        SHA256.hash(data: data).hexString
    }
}
