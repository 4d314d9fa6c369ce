#include "migrate/haresources_parser.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "migrate/ip_text.h"
#include "migrate/legacy_lines.h"

namespace hacluster::migrate {

namespace {

using config::Diagnostic;
using config::Location;
using config::Severity;
using spec::v1::Resource;

// Collects a token's problems; the parser turns them into diagnostics at the
// token's line.
struct TokenNotes {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

bool IsDigits(absl::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// An interface written with an alias label ("eth0:0", IPaddr's old style)
// becomes the base interface: addresses are added with netlink, which needs
// no alias.
std::string BaseInterface(absl::string_view iface, absl::string_view token,
                          TokenNotes* notes) {
  size_t colon = iface.find(':');
  if (colon == absl::string_view::npos || colon == 0) return std::string(iface);
  notes->warnings.push_back(absl::StrCat(
      "interface '", iface, "' in '", token, "' is an alias label; the agent adds the "
      "address to ", iface.substr(0, colon), " itself (labels are not needed), so '",
      iface.substr(colon), "' is dropped"));
  return std::string(iface.substr(0, colon));
}

// Which Heartbeat script handles an address: a bare IPv4 address and
// IPaddr:: go to IPaddr, IPaddr2:: to IPaddr2, IPv6 to IPv6addr. They treat
// a dotted-quad netmask differently.
enum class IpAgent { kIPaddr, kIPaddr2, kIPv6addr };

// IPaddr's argument: ADDR[/PREFIX|/NETMASK[/IFACE][/BROADCAST]] (fields may be
// empty), or for IPv6addr: ADDR[/PREFIX[/IFACE]].
std::optional<Resource> ParseIpArgument(absl::string_view arg, IpAgent agent,
                                        absl::string_view token, TokenNotes* notes) {
  const bool ipv6 = agent == IpAgent::kIPv6addr;
  std::vector<absl::string_view> f = absl::StrSplit(arg, '/');
  Resource r;
  spec::v1::IpAddress* ip = r.mutable_ip();
  if (ipv6 ? !IsIpv6(f[0]) : !IsIpv4(f[0])) {
    notes->errors.push_back(absl::StrCat("'", f[0], "' in '", token, "' is not an ",
                                         ipv6 ? "IPv6" : "IPv4", " address"));
    return std::nullopt;
  }
  ip->set_address(std::string(f[0]));
  size_t max_fields = ipv6 ? 3 : 4;
  if (f.size() > max_fields) {
    notes->errors.push_back(absl::StrCat(
        "'", token, "' has too many '/' fields; write ",
        ipv6 ? "IPv6addr::ADDRESS/PREFIX/INTERFACE"
             : "ADDRESS/PREFIX/INTERFACE/BROADCAST"));
    return std::nullopt;
  }
  if (f.size() >= 2 && !f[1].empty()) {
    int prefix = 0;
    int max_prefix = ipv6 ? 128 : 32;
    if (IsDigits(f[1]) && absl::SimpleAtoi(f[1], &prefix) && prefix >= 1 &&
        prefix <= max_prefix) {
      ip->set_prefix_length(static_cast<uint32_t>(prefix));
    } else if (!ipv6 && IsIpv4(f[1])) {
      // What Debian's agents (resource-agents 4.12) do with a dotted quad,
      // tried with their own code: IPaddr hands it to findif (C), which
      // takes 32 minus its trailing zero bits (255.255.255.0 -> 24,
      // 100.200.230.6 -> 31) and fails on 0.0.0.0; IPaddr2's findif.sh
      // (maybe_convert_dotted_quad_to_cidr) converts only a contiguous
      // mask and otherwise logs "Bogus netmask" and refuses to start.
      std::optional<int> p = NetmaskToPrefix(f[1]);
      std::optional<int> findif = FindifPrefix(f[1]);
      if (p.has_value() && *p > 0) {
        ip->set_prefix_length(static_cast<uint32_t>(*p));
      } else if (!findif.has_value()) {
        notes->errors.push_back(absl::StrCat(
            "'", f[1], "' in '", token, "' is not a netmask: Debian's IPaddr and IPaddr2 "
            "refuse it and the address is never added; write a prefix length such as /24"));
        return std::nullopt;
      } else if (agent == IpAgent::kIPaddr2) {
        notes->errors.push_back(absl::StrCat(
            "'", f[1], "' in '", token, "' is not a netmask (its one bits are not "
            "contiguous): Debian's IPaddr2 refuses it (\"Bogus netmask\") and the address "
            "is never added; write a prefix length such as /24"));
        return std::nullopt;
      } else {
        ip->set_prefix_length(static_cast<uint32_t>(*findif));
        notes->warnings.push_back(absl::StrCat(
            "'", f[1], "' in '", token, "' is not a netmask (its one bits are not "
            "contiguous): Debian's IPaddr (resource-agents' findif) takes 32 minus its "
            "trailing zero bits, /", *findif, " here, and so does the conversion; check "
            "that /", *findif, " is what you meant and write it so"));
      }
    } else {
      notes->errors.push_back(absl::StrCat("'", f[1], "' in '", token,
                                           "' is not a prefix length (1 to ", max_prefix,
                                           ")", ipv6 ? "" : " or a netmask"));
      return std::nullopt;
    }
  }
  if (f.size() >= 3 && !f[2].empty()) {
    if (!ipv6 && IsIpv4(f[2])) {
      if (f.size() == 4) {
        notes->errors.push_back(absl::StrCat(
            "'", token, "' has a broadcast address before the interface; write "
            "ADDRESS/PREFIX/INTERFACE/BROADCAST"));
        return std::nullopt;
      }
      ip->set_broadcast(std::string(f[2]));
    } else {
      std::string iface = BaseInterface(f[2], token, notes);
      // "10.0.0.2//10.0.0.255:0": no interface is named like an address, and
      // written back without its label it would read as a broadcast.
      if (IsIpv4(iface)) {
        notes->errors.push_back(absl::StrCat(
            "interface '", f[2], "' in '", token, "' is an IPv4 address, not an interface "
            "name; write ", ipv6 ? "IPv6addr::ADDRESS/PREFIX/INTERFACE"
                                 : "ADDRESS/PREFIX/INTERFACE/BROADCAST"));
        return std::nullopt;
      }
      ip->set_interface(std::move(iface));
    }
  }
  if (f.size() == 4 && !f[3].empty()) {
    if (!IsIpv4(f[3])) {
      notes->errors.push_back(absl::StrCat("broadcast '", f[3], "' in '", token,
                                           "' is not an IPv4 address"));
      return std::nullopt;
    }
    ip->set_broadcast(std::string(f[3]));
  }
  return r;
}

Resource OcfResource(absl::string_view type) {
  Resource r;
  r.mutable_ocf()->set_provider("heartbeat");
  r.mutable_ocf()->set_type(std::string(type));
  return r;
}

// `token` is NAME::ARG1::ARG2...
std::optional<Resource> ParseScriptForm(absl::string_view token, TokenNotes* notes) {
  size_t sep = token.find("::");
  absl::string_view name = token.substr(0, sep);
  absl::string_view rest = token.substr(sep + 2);
  if (name.empty()) {
    notes->errors.push_back(absl::StrCat("resource '", token,
                                         "' has no script name before '::'"));
    return std::nullopt;
  }
  if (name == "IPv6addr") return ParseIpArgument(rest, IpAgent::kIPv6addr, token, notes);
  std::vector<std::string> args = absl::StrSplit(rest, "::");
  if (name == "IPaddr" || name == "IPaddr2") {
    if (args.size() == 1) {
      return ParseIpArgument(args[0], name == "IPaddr2" ? IpAgent::kIPaddr2 : IpAgent::kIPaddr,
                             token, notes);
    }
    // "IPaddr::2001:db8::5" splits into several '::' arguments.
    notes->errors.push_back(absl::StrCat(
        "'", token, "': ", name, " takes one IPv4 argument (ADDRESS[/PREFIX[/INTERFACE"
        "[/BROADCAST]]]); an IPv6 address goes in IPv6addr::ADDRESS/PREFIX/INTERFACE"));
    return std::nullopt;
  }
  if (name == "Filesystem") {
    if (args.size() < 2 || args.size() > 4 || args[0].empty() || args[1].empty()) {
      notes->errors.push_back(absl::StrCat(
          "'", token, "' needs a device and a mount point: write "
          "Filesystem::DEVICE::DIRECTORY[::FSTYPE[::OPTIONS]]"));
      return std::nullopt;
    }
    Resource r = OcfResource("Filesystem");
    auto* params = r.mutable_ocf()->mutable_params();
    (*params)["device"] = args[0];
    (*params)["directory"] = args[1];
    if (args.size() >= 3 && !args[2].empty()) (*params)["fstype"] = args[2];
    if (args.size() >= 4 && !args[3].empty()) (*params)["options"] = args[3];
    return r;
  }
  if (name == "MailTo") {
    if (args.size() > 2 || args[0].empty()) {
      notes->errors.push_back(absl::StrCat(
          "'", token, "' needs an address: write MailTo::ADDRESS[::SUBJECT]"));
      return std::nullopt;
    }
    Resource r = OcfResource("MailTo");
    auto* params = r.mutable_ocf()->mutable_params();
    (*params)["email"] = args[0];
    if (args.size() == 2 && !args[1].empty()) (*params)["subject"] = args[1];
    return r;
  }
  Resource r;
  r.mutable_heartbeat()->set_name(std::string(name));
  for (std::string& a : args) r.mutable_heartbeat()->add_args(std::move(a));
  return r;
}

}  // namespace

const std::set<std::string>& HeartbeatResourceScripts() {
  static const auto* scripts = new std::set<std::string>{
      "AudibleAlarm", "Delay",    "Filesystem", "ICP",          "IPaddr",
      "IPaddr2",      "IPsrcaddr", "IPv6addr",  "LVM",          "LinuxSCSI",
      "MailTo",       "OCF",      "Raid1",      "SendArp",      "ServeRAID",
      "WAS",          "WinPopup", "Xinetd",     "apache",       "db2",
      "hto-mapfuncs", "ids",      "portblock",  "drbddisk",     "drbdupper"};
  return *scripts;
}

HaresourcesParse ParseHaresources(absl::string_view text, const std::string& filename,
                                  const std::set<std::string>& local_scripts) {
  HaresourcesParse out;
  auto add = [&](Severity s, int line, std::string message) {
    out.diagnostics.push_back(Diagnostic{s, Location{filename, line, 0}, std::move(message)});
  };
  ErrorLimit limit;
  for (const LegacyLine& logical : SplitLegacyLines(text)) {
    if (limit.Reached(&out.diagnostics, filename, logical.line)) break;
    HaresourcesLine group;
    group.line = logical.line;
    group.node = logical.words[0].text;
    group.normalized = logical.Normalized();
    if (logical.words.size() == 1) {
      add(Severity::kError, logical.line,
          absl::StrCat("line names node '", group.node,
                       "' but no resources; list the group's resources after it, or "
                       "remove the line"));
    }
    // The line's first IP address, for the advice on misplaced suffixes.
    std::string line_ip;
    for (size_t i = 1; i < logical.words.size(); ++i) {
      absl::string_view t = logical.words[i].text;
      if (absl::StartsWith(t, "IPaddr::")) t.remove_prefix(8);
      if (absl::StartsWith(t, "IPaddr2::")) t.remove_prefix(9);
      absl::string_view addr = t.substr(0, t.find('/'));
      if (IsIpv4(addr)) {
        line_ip = std::string(addr);
        break;
      }
    }
    for (size_t i = 1; i < logical.words.size(); ++i) {
      const LegacyWord& word = logical.words[i];
      absl::string_view token = word.text;
      TokenNotes notes;
      std::optional<Resource> resource;
      absl::string_view first_field = token.substr(0, token.find('/'));
      if (IsIpv4(first_field)) {
        resource = ParseIpArgument(token, IpAgent::kIPaddr, token, &notes);
      } else if (IsIpv6(first_field)) {
        // Heartbeat's ResourceManager takes only dotted quads for addresses;
        // it splits this token on '::' into a script name and arguments.
        resource = ParseIpArgument(token, IpAgent::kIPv6addr, token, &notes);
        if (resource.has_value()) {
          notes.warnings.push_back(absl::StrCat(
              "'", token, "': Heartbeat treats only dotted-quad tokens as addresses (it "
              "would need IPv6addr::", token, "); converted as an IPv6 VIP"));
        }
      } else if (token.find("::") != absl::string_view::npos) {
        resource = ParseScriptForm(token, &notes);
      } else if (token.find('/') != absl::string_view::npos) {
        std::vector<absl::string_view> f = absl::StrSplit(token, '/');
        bool address_suffix = f.size() >= 2 && (IsDigits(f[1]) || IsIpv4(f[1]));
        if (address_suffix) {
          std::string suffix(token.substr(first_field.size()));
          notes.errors.push_back(absl::StrCat(
              "resource '", token, "' looks like a service name with an address suffix; "
              "an address suffix belongs to the IP: write '",
              line_ip.empty() ? "ADDRESS" : line_ip, suffix, " ", first_field, "'"));
        } else {
          notes.errors.push_back(absl::StrCat(
              "resource '", token, "' is not a resource: names of init scripts and "
              "resource.d scripts cannot contain '/'"));
        }
      } else {
        std::string name(token);
        Resource r;
        if (HeartbeatResourceScripts().count(name) > 0 || local_scripts.count(name) > 0) {
          r.mutable_heartbeat()->set_name(name);
        } else {
          r.mutable_lsb()->set_name(name);
        }
        resource = std::move(r);
      }
      for (std::string& w : notes.warnings) add(Severity::kWarning, word.line, std::move(w));
      for (std::string& e : notes.errors) add(Severity::kError, word.line, std::move(e));
      if (resource.has_value() && notes.errors.empty()) {
        group.resources.push_back({std::move(*resource), word.text, word.line});
      }
    }
    out.lines.push_back(std::move(group));
  }
  return out;
}

}  // namespace hacluster::migrate
