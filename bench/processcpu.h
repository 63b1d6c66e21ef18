#pragma once

#include <vector>

namespace tollgate::bench {

/// CPU time (user + system, all threads) that processes have used, from /proc/PID/stat. CPU per
/// request barely depends on what else the machine runs, unlike requests per second.
class ProcessCpu {
public:
    /// Seconds of CPU used so far by all of `pids`; negative when one cannot be read.
    static double seconds(const std::vector<int> &pids);
};

} // namespace tollgate::bench
