// Parser of Heartbeat's haresources: text -> resource groups.
//
// Each logical line (after '\' continuations are joined and comments
// stripped) is `NODE RESOURCE...`: one group whose preferred node is NODE.
// Resource tokens become spec resources:
//   192.168.85.3[/PREFIX|/NETMASK[/IFACE][/BROADCAST]]  -> ip   (bare IPv4)
//   IPaddr::ARG, IPaddr2::ARG (ARG as above)            -> ip
//   IPv6addr::ADDR[/PREFIX[/IFACE]]                     -> ip
//   ADDR[/PREFIX[/IFACE]] (bare IPv6)                   -> ip, with a warning:
//                            Heartbeat itself would split it on '::'.
//   Filesystem::DEV::DIR[::FSTYPE[::OPTIONS]]           -> ocf heartbeat Filesystem
//   MailTo::ADDR[::SUBJECT]                             -> ocf heartbeat MailTo
//   NAME::ARG1::ARG2                                    -> heartbeat script NAME
//   NAME (a script of Heartbeat's resource.d, or one in local_scripts)
//                                                       -> heartbeat script NAME
//   NAME (anything else)                                -> lsb NAME
// Whether NODE is declared in ha.cf is the converter's check.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_MIGRATE_HARESOURCES_PARSER_H_
#define HACLUSTER_MIGRATE_HARESOURCES_PARSER_H_

#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/config/diagnostics.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::migrate {

struct HaresourcesResource {
  spec::v1::Resource resource;
  std::string token;  // as written, e.g. "IPaddr::10.0.0.1/24"
  int line = 0;       // physical line of the token
};

struct HaresourcesLine {
  int line = 0;  // physical line the logical line starts on
  std::string node;
  std::vector<HaresourcesResource> resources;
  std::string normalized;  // words joined by single spaces
};

struct HaresourcesParse {
  // One entry per logical line, in file order, including lines where some
  // tokens had errors (those tokens are left out).
  std::vector<HaresourcesLine> lines;
  std::vector<config::Diagnostic> diagnostics;
};

// Parses haresources text. `filename` is used in diagnostics;
// `local_scripts` are the names found in the directory's resource.d (they
// are Heartbeat scripts, not LSB services). Never fails.
HaresourcesParse ParseHaresources(absl::string_view text, const std::string& filename,
                                  const std::set<std::string>& local_scripts = {});

// The scripts shipped in Heartbeat's /etc/ha.d/resource.d.
const std::set<std::string>& HeartbeatResourceScripts();

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_HARESOURCES_PARSER_H_
