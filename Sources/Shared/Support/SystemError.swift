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
