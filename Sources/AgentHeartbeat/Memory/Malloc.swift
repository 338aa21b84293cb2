internal import CGlibc

/// glibc's allocator settings for a process whose resident size is what it is judged by.
public enum Malloc {
    /// glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps the
    /// memory it freed. The sidecar's threads (subscriber, writer, checker, HTTP) allocate in
    /// bursts, so two arenas share that memory: at 100,000 agents, 126 MiB instead of 162 between
    /// checks. Call before starting threads.
    public static func limitArenas() {
        mallopt(M_ARENA_MAX, 2)
    }

    /// Hands memory freed by a check (the records, a reload's YAML tree) back to the system.
    static func releaseFreed() {
        malloc_trim(0)
    }
}
