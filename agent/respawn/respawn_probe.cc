// A program for supervisor_test to run as a respawn entry: writes what it
// was started with to the file named by argv[1] (written whole, then
// renamed into place), one fact a line: uid, gid, supplementary groups,
// process group, pid, open descriptors, HOME, USER, the signal mask's
// blocked count, and the scheduling policy; then sleeps until killed.
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string out = argv[1];
  const std::string tmp = out + ".tmp";
  FILE* f = fopen(tmp.c_str(), "we");
  if (f == nullptr) return 1;
  fprintf(f, "%u\n%u\n", getuid(), getgid());
  gid_t groups[256];
  const int n = getgroups(256, groups);
  for (int i = 0; i < n; ++i) fprintf(f, "%s%u", i ? " " : "", groups[i]);
  fprintf(f, "\n%d\n%d\n", getpgrp(), getpid());
  // Descriptors: those open before this program opened any (the output
  // file and the directory stream are left out).
  DIR* d = opendir("/proc/self/fd");
  std::vector<int> fds;
  if (d != nullptr) {
    for (dirent* e = readdir(d); e != nullptr; e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int fd = atoi(e->d_name);
      if (fd != dirfd(d) && fd != fileno(f)) fds.push_back(fd);
    }
    closedir(d);
  }
  for (size_t i = 0; i < fds.size(); ++i) fprintf(f, "%s%d", i ? " " : "", fds[i]);
  const char* home = getenv("HOME");
  const char* user = getenv("USER");
  fprintf(f, "\n%s %s\n", home ? home : "-", user ? user : "-");
  sigset_t mask;
  sigprocmask(SIG_SETMASK, nullptr, &mask);
  int blocked = 0;
  for (int s = 1; s < NSIG; ++s) blocked += sigismember(&mask, s) == 1;
  fprintf(f, "%d\n%d\n", blocked, sched_getscheduler(0));
  fclose(f);
  if (rename(tmp.c_str(), out.c_str()) != 0) return 1;
  for (int i = 0; i < 3600; ++i) sleep(1);
  return 0;
}
