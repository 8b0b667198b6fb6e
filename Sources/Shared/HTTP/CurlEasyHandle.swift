import CCurl
import Foundation

/// Owns one libcurl easy handle. Reusing the handle across requests keeps its
/// connections alive, so consecutive calls to one host share a TLS session.
///
/// Not thread-safe: one handle serves one thread at a time.
final class CurlEasyHandle {
    let raw: UnsafeMutableRawPointer
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    init() throws {
        guard Self.globalInit == CURLE_OK else {
            throw CloudspoolError(.http, "libcurl could not be initialised", underlying: String(cString: curl_easy_strerror(Self.globalInit)))
        }
        guard let handle = curl_easy_init() else {
            throw CloudspoolError(.http, "libcurl could not create a handle (out of memory?)")
        }
        raw = handle
    }

    deinit {
        curl_easy_cleanup(raw)
    }

    /// Clears all options (connections stay cached) and installs the error buffer.
    func reset() throws {
        curl_easy_reset(raw)
        for i in errorBuffer.indices { errorBuffer[i] = 0 }
        try errorBuffer.withUnsafeMutableBufferPointer { buffer in
            try check(cloudspool_curl_setopt_pointer(raw, CURLOPT_ERRORBUFFER, buffer.baseAddress), "ERRORBUFFER")
        }
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(cloudspool_curl_setopt_long(raw, option, value), "option \(option.rawValue)")
    }

    func set(_ option: CURLoption, _ value: String) throws {
        // libcurl copies string options (since 7.17), so a temporary C string is enough.
        try check(value.withCString { cloudspool_curl_setopt_string(raw, option, $0) }, "option \(option.rawValue)")
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(cloudspool_curl_setopt_pointer(raw, option, pointer), "option \(option.rawValue)")
    }

    func set(_ option: CURLoption, list: UnsafeMutablePointer<curl_slist>?) throws {
        try check(cloudspool_curl_setopt_slist(raw, option, list), "option \(option.rawValue)")
    }

    func set(_ option: CURLoption, offset: Int64) throws {
        try check(cloudspool_curl_setopt_off_t(raw, option, curl_off_t(offset)), "option \(option.rawValue)")
    }

    func set(_ option: CURLoption, callback: cloudspool_curl_data_callback) throws {
        try check(cloudspool_curl_setopt_callback(raw, option, callback), "option \(option.rawValue)")
    }

    var responseCode: Int {
        var code: Int = 0
        _ = cloudspool_curl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// Runs the transfer; a failure becomes an `HTTPClientError` with curl's words.
    func perform(host: String) throws {
        let code = curl_easy_perform(raw)
        guard code == CURLE_OK else {
            var detail = String(cString: curl_easy_strerror(code))
            let extra = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if !extra.isEmpty && extra != detail { detail += ": " + extra.trimmingCharacters(in: .whitespacesAndNewlines) }
            throw HTTPClientError(curlCode: Int(code.rawValue), detail: detail, host: host)
        }
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw CloudspoolError(.http, "libcurl rejected \(what)", underlying: String(cString: curl_easy_strerror(code)))
        }
    }
}
