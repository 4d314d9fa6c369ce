#include "agent/node/resource_work.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/exec/runner.h"
#include "agent/vip/announce.h"

namespace hacluster::agent {
namespace {

exec::Op ExecOp(v1::ResourceOp op) {
  switch (op) {
    case v1::RESOURCE_OP_START:
      return exec::Op::kStart;
    case v1::RESOURCE_OP_STOP:
      return exec::Op::kStop;
    default:
      return exec::Op::kMonitor;
  }
}

WorkResult Fail(std::string message) {
  WorkResult w;
  w.message = std::move(message);
  return w;
}

WorkResult IpOp(const spec::v1::IpAddress& ip, v1::ResourceOp op,
                const std::optional<vip::Placement>& known, const vip::Announcer* announcer) {
  WorkResult w;
  switch (op) {
    case v1::RESOURCE_OP_START: {
      absl::StatusOr<vip::Placement> p = vip::ResolvePlacement(ip);
      if (!p.ok()) return Fail(std::string(p.status().message()));
      absl::Status s = vip::AddAddress(ip, *p);
      if (!s.ok()) return Fail(std::string(s.message()));
      w.ok = true;
      w.placement = *p;
      w.announce = true;
      s = announcer != nullptr ? announcer->Announce(p->interface, ip.address())
                               : vip::Announce(p->interface, ip.address());
      w.message = absl::StrCat("added ", ip.address(), "/", p->prefix_length, " on ",
                               p->interface,
                               s.ok() ? ", announced" : absl::StrCat("; announcing: ", s.message()));
      return w;
    }
    case v1::RESOURCE_OP_STOP: {
      std::optional<vip::Placement> p = known;
      if (!p.has_value()) {
        absl::StatusOr<vip::Placement> found = vip::ResolvePlacement(ip);
        if (found.ok()) p = *found;
      }
      if (p.has_value()) {
        absl::Status s = vip::RemoveAddress(ip, *p);
        if (!s.ok()) return Fail(std::string(s.message()));
      }
      // Wherever else it may be (the interface could not be found, or it was
      // added by hand elsewhere), it must be gone for the stop to count.
      absl::StatusOr<bool> still = vip::HasAddress(ip.address());
      if (!still.ok()) return Fail(std::string(still.status().message()));
      if (*still) {
        return Fail(absl::StrCat(ip.address(), " is still assigned on this node (",
                                 p.has_value() ? absl::StrCat("not on ", p->interface)
                                               : std::string("its interface is unknown"),
                                 ")"));
      }
      w.ok = true;
      w.may_be_running = false;
      w.message = absl::StrCat("removed ", ip.address(),
                               p.has_value() ? absl::StrCat(" from ", p->interface) : "");
      return w;
    }
    case v1::RESOURCE_OP_PROBE: {
      absl::StatusOr<bool> has = vip::HasAddress(ip.address(), vip::kAnyInterface);
      if (!has.ok()) return Fail(std::string(has.status().message()));
      w.ok = *has;
      w.may_be_running = *has;
      w.message = *has ? absl::StrCat(ip.address(), " is assigned on this node")
                       : absl::StrCat(ip.address(), " is not assigned on this node");
      if (*has) {
        // Where it would be added is where it is looked for on a later
        // monitor and announced again.
        absl::StatusOr<vip::Placement> p = vip::ResolvePlacement(ip);
        if (p.ok()) {
          absl::StatusOr<bool> there = vip::HasAddress(ip.address(), p->ifindex);
          if (there.ok() && *there) w.placement = *p;
        }
      }
      return w;
    }
    default: {
      absl::StatusOr<bool> has =
          vip::HasAddress(ip.address(), known.has_value() ? known->ifindex : vip::kAnyInterface);
      if (!has.ok()) return Fail(std::string(has.status().message()));
      w.ok = *has;
      w.may_be_running = *has;
      w.message = *has ? absl::StrCat(ip.address(), " assigned")
                       : absl::StrCat(ip.address(), " is no longer assigned",
                                      known.has_value() ? absl::StrCat(" on ", known->interface)
                                                        : "");
      return w;
    }
  }
}

}  // namespace

WorkResult RunResourceOp(const spec::v1::Resource& r, v1::ResourceOp op,
                         const std::optional<vip::Placement>& placement,
                         const exec::ScriptPaths& paths, const vip::Announcer* announcer) {
  if (r.has_ip()) return IpOp(r.ip(), op, placement, announcer);
  const exec::Op eop = ExecOp(op);
  // A probe is a monitor with interval 0, as Pacemaker runs it: OCF agents
  // then know it for a probe (ocf_is_probe) and answer "not running" rather
  // than an error when, say, their state directory does not exist yet.
  spec::v1::Resource probe;
  if (op == v1::RESOURCE_OP_PROBE) {
    probe = r;
    probe.clear_monitor_interval();
  }
  absl::StatusOr<exec::Command> c =
      exec::CommandFor(op == v1::RESOURCE_OP_PROBE ? probe : r, eop, paths);
  if (!c.ok()) return Fail(std::string(c.status().message()));
  exec::RunResult run = exec::Run(*c);
  exec::Outcome o = exec::Interpret(r, eop, run);
  WorkResult w;
  w.ok = o.ok;
  w.may_be_running = o.running;
  w.message = std::move(o.message);
  return w;
}

WorkResult RunFence(const spec::v1::Fencing& fencing, const std::string& node) {
  exec::Command c;
  for (const std::string& arg : fencing.command()) {
    c.argv.push_back(absl::StrReplaceAll(arg, {{"{node}", node}}));
  }
  c.env = {absl::StrCat("PATH=", exec::kScriptPath)};
  c.timeout = fencing.has_timeout()
                  ? absl::Seconds(fencing.timeout().seconds()) +
                        absl::Nanoseconds(fencing.timeout().nanos())
                  : absl::Seconds(60);
  if (c.timeout <= absl::ZeroDuration()) c.timeout = absl::Seconds(60);
  if (c.argv.empty()) return Fail("no fencing command configured");
  exec::RunResult run = exec::Run(c);
  WorkResult w;
  if (!run.started) return Fail(run.error);
  if (run.timed_out) return Fail(absl::StrCat("timed out after ", absl::FormatDuration(c.timeout)));
  if (run.signal != 0) return Fail(absl::StrCat("killed by signal ", run.signal));
  w.ok = run.exit_status == 0;
  w.message = absl::StrCat("exit status ", run.exit_status);
  std::string out = run.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  size_t nl = out.rfind('\n');
  if (!out.empty()) absl::StrAppend(&w.message, ": ", nl == std::string::npos ? out : out.substr(nl + 1));
  return w;
}

}  // namespace hacluster::agent
