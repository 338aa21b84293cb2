import Foundation
import Testing

/// The API and dashboard suites start sidecars, schemathesis and Chromium, heavy on two cores (under
/// a sanitizer most of all): one test at a time, so they do not starve the rest of the tests.
@Suite(.serialized)
enum WebTests {
    /// False under a sanitizer (`SANITIZER`, set by scripts/test.sh). The heaviest tests (10,000
    /// agents in Chromium, schemathesis) run only without one: the code they reach runs under the
    /// sanitizers in the other API and dashboard tests, and under ASan their load starved
    /// timing-sensitive tests beside them into false alerts.
    static let unsanitized = ProcessInfo.processInfo.environment["SANITIZER"] == nil
}
