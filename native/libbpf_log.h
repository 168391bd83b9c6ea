// libbpf's own messages: printed live with -v, otherwise kept (the last few
// warnings) so a failure can carry them. libbpf may call from any thread.
#pragma once
#include <string>

namespace mltrace {

void InstallLibbpfLog();
void SetLibbpfVerbose(bool verbose);
// Returns and clears what was kept since the last call.
std::string TakeRecentLog();

}  // namespace mltrace
