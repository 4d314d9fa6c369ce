#include "cli/cert_commands.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agent/tls/certificates.h"
#include "agent/tls/issuer.h"
#include "cli/new_files.h"
#include "google/protobuf/struct.pb.h"

namespace hacluster::cli {
namespace {

namespace tls = agent::tls;

constexpr char kCaCert[] = "ca.crt";
constexpr char kCaKey[] = "ca.key";

// DIR/NAME, with no doubled '/' when DIR ends with one.
std::string InDir(const std::string& dir, absl::string_view name) {
  absl::string_view base = absl::StripSuffix(dir, "/");
  return absl::StrCat(base.empty() ? dir : base, "/", name);
}

// Prints "hacli cert SUB: MESSAGE" and returns `status`.
int Fail(std::ostream& err, absl::string_view sub, absl::string_view message, int status) {
  err << "hacli cert " << sub << ": " << message << "\n";
  return status;
}

// A name that is safe as DIR/NAME.crt: no path, no hidden file, and never
// the CA's own files.
bool IsCertFileName(absl::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.' || name == "ca") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '@';
  });
}

// Creates `dir` (mode 0700) unless it exists.
absl::Status EnsureDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  int err = errno;
  struct stat st;
  if (err == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  if (err == EEXIST) return absl::FailedPreconditionError(dir + " is not a directory");
  return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir, ": ", strerror(err)));
}

// Writes the key, then the certificate: the file others look for appears
// last, once its key is in place. An existing file is named with the way
// out.
int WritePair(const tls::CertAndKey& pair, const std::string& cert_path,
              const std::string& key_path, bool force, absl::string_view sub,
              std::ostream& err, std::vector<NewFile> more = {}) {
  std::vector<NewFile> files = {{key_path, pair.key_pem, 0600}, {cert_path, pair.cert_pem, 0644}};
  files.insert(files.end(), more.begin(), more.end());
  absl::Status written = WriteNewFiles(files, force);
  if (written.code() == absl::StatusCode::kAlreadyExists) {
    return Fail(err, sub, absl::StrCat(written.message(), "; give --force to replace it"),
                kExitFailed);
  }
  if (!written.ok()) return Fail(err, sub, written.message(), kExitFailed);
  return kExitOk;
}

// The subject of a certificate just made, for the message.
std::string SubjectOf(const std::string& cert_pem) {
  absl::StatusOr<tls::CertInfo> info = tls::ParseCertificatePem(cert_pem);
  return info.ok() ? info->subject : "?";
}

// ---- issue ----

// The command line of `issue`, checked: the message of a usage error, or "".
std::string IssueUsageProblem(const CertIssueArgs& args) {
  if (args.dir.empty()) return "give --dir DIR, the directory of 'hacli cert init'";
  if (!tls::ParseRole(args.role).has_value()) {
    return absl::StrCat("--role must be node, admin or reader, not '", args.role, "'");
  }
  if (!IsCertFileName(args.name)) {
    return absl::StrCat("--name '", args.name,
                        "' must be 1 to 64 letters, digits, '-', '_', '.' or '@', not start "
                        "with '.' and not be 'ca' (it names DIR/NAME.crt and DIR/NAME.key)");
  }
  if (args.role == "node" && args.sans.empty()) {
    return "a node certificate needs at least one --san ADDR: it carries the node's addresses, "
           "which its peers and clients connect to";
  }
  for (const std::string& san : args.sans) {
    absl::Status checked = tls::CheckSan(san);
    if (!checked.ok()) return absl::StrCat("--san ", checked.message());
  }
  if (args.days < 1) return absl::StrCat("--days must be at least 1, not ", args.days);
  return "";
}

// The leaf's end: --days from now, but never after the CA's end (said on
// `err` when clipped).
absl::Time LeafEnd(const CertIssueArgs& args, const tls::CertInfo& ca,
                   const std::string& ca_path, absl::Time now, std::ostream& err) {
  absl::Time end = now + absl::Hours(24) * args.days;
  if (end <= ca.not_after) return end;
  err << "hacli cert issue: note: --days " << args.days << " would outlive the CA ("
      << ca_path << ", valid until " << tls::FormatCertTime(ca.not_after) << "): "
      << args.name << ".crt ends with it\n";
  return ca.not_after;
}

// DIR/ca.crt and DIR/ca.key, and what the certificate says.
absl::Status ReadCa(const std::string& dir, tls::CertAndKey* ca, tls::CertInfo* info) {
  std::string cert_path = InDir(dir, kCaCert);
  std::string key_path = InDir(dir, kCaKey);
  absl::StatusOr<std::string> cert = tls::ReadPemFile(cert_path);
  if (cert.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(cert.status().message(),
                                            " (make the CA first: hacli cert init --dir ",
                                            dir, ")"));
  }
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = tls::ReadPemFile(key_path);
  if (!key.ok()) return key.status();
  absl::StatusOr<tls::CertInfo> parsed = tls::ParseCertificatePem(*cert);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_path, ": ", parsed.status().message()));
  }
  *ca = {*std::move(cert), *std::move(key)};
  *info = *std::move(parsed);
  return absl::OkStatus();
}

// ---- show ----

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool Expired(const tls::CertInfo& info, absl::Time now) { return now >= info.not_after; }
bool NotYetValid(const tls::CertInfo& info, absl::Time now) { return now < info.not_before; }

std::string ShowText(const tls::CertInfo& info, absl::Time now) {
  std::string role = info.role.has_value() ? std::string(tls::RoleName(*info.role)) : "-";
  std::string sans = info.sans.empty() ? "-" : absl::StrJoin(info.sans, ", ");
  return absl::StrCat(
      "subject:     ", info.subject, "\n",                                                  //
      "role:        ", role, "\n",                                                          //
      "SANs:        ", sans, "\n",                                                          //
      "not before:  ", tls::FormatCertTime(info.not_before),
      NotYetValid(info, now) ? "  (not yet valid)" : "", "\n",                              //
      "not after:   ", tls::FormatCertTime(info.not_after),
      Expired(info, now) ? "  (EXPIRED)" : "", "\n",                                        //
      "CA:          ", info.is_ca ? "yes" : "no", "\n",                                     //
      "SHA-256:     ", info.fingerprint_sha256, "\n");
}

// One JSON object, printed by protobuf's JSON mapping (no second
// serializer), through a Struct since this is no API message.
std::string ShowJson(const tls::CertInfo& info, absl::Time now) {
  google::protobuf::Struct json;
  auto& fields = *json.mutable_fields();
  fields["subject"].set_string_value(info.subject);
  fields["common_name"].set_string_value(info.common_name);
  if (info.role.has_value()) {
    fields["role"].set_string_value(std::string(tls::RoleName(*info.role)));
  } else {
    fields["role"].set_null_value(google::protobuf::NULL_VALUE);
  }
  auto* sans = fields["sans"].mutable_list_value();
  for (const std::string& san : info.sans) sans->add_values()->set_string_value(san);
  fields["not_before"].set_string_value(Rfc3339(info.not_before));
  fields["not_after"].set_string_value(Rfc3339(info.not_after));
  fields["is_ca"].set_bool_value(info.is_ca);
  fields["fingerprint_sha256"].set_string_value(info.fingerprint_sha256);
  fields["expired"].set_bool_value(Expired(info, now));
  return ApiJson(json, /*pretty=*/true);
}

}  // namespace

int RunCertInit(const CertInitArgs& args, absl::Time now, std::ostream& out,
                std::ostream& err) {
  if (args.dir.empty()) return Fail(err, "init", "give --dir DIR", kExitUsage);
  absl::StatusOr<tls::CertAndKey> ca =
      tls::MakeCa(args.cluster, now - kBackdate, now + tls::kCaValidity);
  if (ca.status().code() == absl::StatusCode::kInvalidArgument) {
    return Fail(err, "init", absl::StrCat("--cluster: ", ca.status().message()), kExitUsage);
  }
  if (!ca.ok()) return Fail(err, "init", ca.status().message(), kExitFailed);
  absl::Status dir = EnsureDir(args.dir);
  if (!dir.ok()) return Fail(err, "init", dir.message(), kExitFailed);
  std::string cert_path = InDir(args.dir, kCaCert);
  std::string key_path = InDir(args.dir, kCaKey);
  int written = WritePair(*ca, cert_path, key_path, args.force, "init", err);
  if (written != kExitOk) return written;
  out << "wrote " << cert_path << " and " << key_path << " (key mode 0600): CA "
      << SubjectOf(ca->cert_pem) << ", valid until "
      << tls::FormatCertTime(now + tls::kCaValidity) << "\n"
      << "keep " << key_path << " off the nodes; next: hacli cert issue --dir " << args.dir
      << " --role node --name NODE --san ADDRESS\n";
  return kExitOk;
}

int RunCertIssue(const CertIssueArgs& args, absl::Time now, std::ostream& out,
                 std::ostream& err) {
  if (std::string problem = IssueUsageProblem(args); !problem.empty()) {
    return Fail(err, "issue", problem, kExitUsage);
  }
  tls::CertAndKey ca;
  tls::CertInfo ca_info;
  absl::Status read = ReadCa(args.dir, &ca, &ca_info);
  if (!read.ok()) return Fail(err, "issue", read.message(), kExitFailed);
  std::string ca_path = InDir(args.dir, kCaCert);
  if (now >= ca_info.not_after) {
    return Fail(err, "issue",
                absl::StrCat("the CA ", ca_path, " expired on ",
                             tls::FormatCertTime(ca_info.not_after),
                             "; make a new one with hacli cert init --force"),
                kExitFailed);
  }
  tls::LeafRequest request;
  request.role = *tls::ParseRole(args.role);
  request.name = args.name;
  request.sans = args.sans;
  request.not_before = now - kBackdate;
  request.not_after = LeafEnd(args, ca_info, ca_path, now, err);
  absl::StatusOr<tls::CertAndKey> leaf = tls::IssueCertificate(ca, request);
  if (!leaf.ok()) {
    return Fail(err, "issue",
                absl::StrCat("cannot sign with ", ca_path, " and ", InDir(args.dir, kCaKey),
                             ": ", leaf.status().message()),
                kExitFailed);
  }
  std::string cert_path = InDir(args.dir, args.name + ".crt");
  std::string key_path = InDir(args.dir, args.name + ".key");
  std::vector<NewFile> more;
  const std::string p12_path = InDir(args.dir, args.name + ".p12");
  if (args.p12) {
    absl::StatusOr<std::string> bundle =
        tls::Pkcs12Bundle(*leaf, ca.cert_pem, args.name, args.p12_password);
    if (!bundle.ok()) return Fail(err, "issue", bundle.status().message(), kExitFailed);
    more.push_back({p12_path, *std::move(bundle), 0600});
  }
  int written = WritePair(*leaf, cert_path, key_path, args.force, "issue", err, more);
  if (written != kExitOk) return written;
  out << "wrote " << cert_path << " and " << key_path << " (key mode 0600): "
      << SubjectOf(leaf->cert_pem)
      << (args.sans.empty() ? "" : absl::StrCat(", SANs ", absl::StrJoin(args.sans, ", ")))
      << ", valid until " << tls::FormatCertTime(request.not_after) << "\n";
  if (args.p12) {
    out << "wrote " << p12_path << " (mode 0600): the certificate, its key and the CA for a "
        << "browser; password " << (args.p12_password.empty() ? "empty" : "from HACLI_P12_PASSWORD")
        << "\n";
  }
  return kExitOk;
}

int RunCertShow(const CertShowArgs& args, absl::Time now, std::ostream& out,
                std::ostream& err) {
  if (args.file.empty()) return Fail(err, "show", "give the certificate FILE", kExitUsage);
  absl::StatusOr<std::string> pem = tls::ReadPemFile(args.file);
  if (!pem.ok()) return Fail(err, "show", pem.status().message(), kExitFailed);
  absl::StatusOr<tls::CertInfo> info = tls::ParseCertificatePem(*pem);
  if (!info.ok()) {
    return Fail(err, "show", absl::StrCat(args.file, ": ", info.status().message()),
                kExitFailed);
  }
  if (args.format == OutputFormat::kJson) {
    out << ShowJson(*info, now) << "\n";
  } else {
    out << ShowText(*info, now);
  }
  return kExitOk;
}

}  // namespace hacluster::cli
