#ifndef CLOUDSPOOL_CCURL_SHIM_H
#define CLOUDSPOOL_CCURL_SHIM_H

#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic macros, which Swift
   cannot call. These typed wrappers give Swift one entry point per
   argument type. */

typedef size_t (*cloudspool_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode cloudspool_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_setopt_callback(CURL *handle, CURLoption option, cloudspool_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cloudspool_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode cloudspool_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
