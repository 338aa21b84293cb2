import AgentHeartbeatCore
import Testing

@Suite("Backoff and rate limiting")
struct BackoffTests {
    @Test func backoffDoublesUpToTheMaximumAndResets() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let delays = (0..<6).map { _ in backoff.next(jitter: 1) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                .seconds(1),
            ]
        )
        backoff.reset()
        #expect(backoff.next(jitter: 1) == .milliseconds(100))
    }

    @Test func rateLimiterLetsOnePerIntervalAndCountsTheRest() {
        var limiter = RateLimiter<String>(interval: .seconds(60))
        let start = ContinuousClock.now
        #expect(limiter.permit("mary", now: start) == 0)
        #expect(limiter.permit("mary", now: start + .seconds(1)) == nil)
        #expect(limiter.permit("mary", now: start + .seconds(59)) == nil)
        #expect(limiter.permit("lisa", now: start + .seconds(59)) == 0)
        #expect(limiter.permit("mary", now: start + .seconds(60)) == 2)
    }
}
