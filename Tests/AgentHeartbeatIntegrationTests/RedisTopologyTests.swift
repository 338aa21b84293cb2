import Testing

/// The Sentinel and Cluster suites each start five or six redis-servers, and some start three
/// sidecars: one test at a time, so they do not starve the rest of the tests on two cores.
@Suite(.serialized)
enum RedisTopologyTests {}
