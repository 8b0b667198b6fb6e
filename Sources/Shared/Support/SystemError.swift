#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of the C library's `errno`, for error messages.
func systemErrorText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

import Foundation

/// What is wrong with a file, in words, for messages that name the file:
/// never "NSCocoaErrorDomain error 256".
public enum FileProblem {
    public static func describe(_ path: String, _ error: Error? = nil) -> String {
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            var link = stat()
            return lstat(path, &link) == 0 ? "is a symbolic link to something that does not exist" : "does not exist"
        }
        if isFolder.boolValue { return "is a folder, not a file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "cannot be read by this user (uid \(getuid())): check its owner and mode" }
        if let error = error as NSError? {
            if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return systemErrorText(Int32(underlying.code))
            }
            if error.domain == NSPOSIXErrorDomain { return systemErrorText(Int32(error.code)) }
            if error.domain == NSCocoaErrorDomain, error.code == NSFileReadInapplicableStringEncodingError {
                return "is not UTF-8 text"
            }
        }
        return "cannot be read"
    }
}
