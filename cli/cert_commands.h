// hacli cert: the certificates of the agent API's mutual TLS, made and read
// without any other tool.
//
//   hacli cert init  --dir DIR [--cluster NAME]     DIR/ca.crt, DIR/ca.key
//   hacli cert issue --dir DIR --role ROLE --name NAME [--san ADDR]... [--days N]
//                                                   DIR/NAME.crt, DIR/NAME.key
//   hacli cert show FILE [-o json]
//
// The certificates follow agent/tls/issuer.h. Keys are written mode 0600
// and certificates 0644, both with cli/new_files.h: a pair is complete or
// absent, and nothing is overwritten without `force` (--force).
//
// Exit statuses: 0 done, 1 failed (the message names the file), 2 usage.
// Every function takes the time as `now`; hacli passes the clock's.
//
// Thread-safety: each call is independent; the streams are not shared.
#ifndef HACLUSTER_CLI_CERT_COMMANDS_H_
#define HACLUSTER_CLI_CERT_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/agent_commands.h"
#include "cli/exit_codes.h"

namespace hacluster::cli {

inline constexpr char kDefaultClusterName[] = "hacluster";
// The usual limit of browsers and public CAs; within the CA's 10 years.
inline constexpr int kDefaultCertDays = 825;
// Certificates start this long before they are made, so a node whose clock
// is a little behind accepts them at once.
inline constexpr absl::Duration kBackdate = absl::Hours(1);

// `hacli cert init`: a new cluster CA, valid 10 years.
struct CertInitArgs {
  std::string dir;                            // made mode 0700 when missing
  std::string cluster = kDefaultClusterName;  // the O of every certificate
  bool force = false;                         // replace an existing CA
};
int RunCertInit(const CertInitArgs& args, absl::Time now, std::ostream& out,
                std::ostream& err);

// `hacli cert issue`: a certificate signed by DIR/ca.crt and DIR/ca.key.
struct CertIssueArgs {
  std::string dir;
  std::string role;               // node, admin or reader
  std::string name;               // the CN and the files' name
  std::vector<std::string> sans;  // required for a node: its addresses
  int days = kDefaultCertDays;    // clipped to the CA's end, with a note
  bool force = false;             // replace DIR/NAME.crt and DIR/NAME.key
  bool p12 = false;               // also DIR/NAME.p12 for a browser
  std::string p12_password;       // hacli passes $HACLI_P12_PASSWORD
};
int RunCertIssue(const CertIssueArgs& args, absl::Time now, std::ostream& out,
                 std::ostream& err);

// `hacli cert show FILE`: what a certificate says, judged at `now`.
struct CertShowArgs {
  std::string file;
  OutputFormat format = OutputFormat::kText;
};
int RunCertShow(const CertShowArgs& args, absl::Time now, std::ostream& out,
                std::ostream& err);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_CERT_COMMANDS_H_
