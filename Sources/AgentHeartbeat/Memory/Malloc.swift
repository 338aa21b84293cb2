internal import CGlibc

/// glibc's allocator settings for a process whose resident size is what it is judged by.
public enum Malloc {
    /// Call before starting threads.
    /// - glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps
    ///   the memory it freed. The sidecar's threads (subscriber, writer, checker, HTTP) allocate in
    ///   bursts, so two arenas share that memory: at 100,000 agents, 126 MiB instead of 162 between
    ///   checks.
    /// - Blocks of 128 KiB and more (a check's states, records and map buffer, megabytes each at
    ///   100,000 agents) are mapped on their own and unmapped when freed. By default glibc raises
    ///   that bound to the size of every such block freed, after which they come from the heap and
    ///   leave it fragmented; a fixed bound keeps them out of it.
    public static func configure() {
        mallopt(M_ARENA_MAX, 2)
        mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    }

    /// Hands memory freed by a check (the records, a reload's YAML tree) back to the system.
    static func releaseFreed() {
        malloc_trim(0)
    }
}
