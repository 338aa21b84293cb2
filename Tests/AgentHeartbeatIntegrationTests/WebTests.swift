import Testing

/// The API and dashboard suites start sidecars, schemathesis and Chromium, heavy on two cores (under
/// a sanitizer most of all): one test at a time, so they do not starve the rest of the tests.
@Suite(.serialized)
enum WebTests {}
