/* getpid(2) answers the process ID in %o0 and the parent's in %o1 (SunOS 4 has no getppid call:
 * libc's getppid takes %o1); getuid(2) answers the real and effective user IDs the same way;
 * syscall(2) (number 0) takes the real number in %o0. */
#include "sys.h"
void _start(void)
{
  struct result me = sc(SYS_getpid, 0, 0, 0);
  line("pid positive", me.value > 0);
  line("parent pid positive", me.second > 0);
  line("syscall(SYS_getpid) agrees", sc(0, SYS_getpid, 0, 0).value == me.value);
  long pid = do_fork();
  if (pid == 0)
  {
    struct result child = sc(SYS_getpid, 0, 0, 0);
    line("child's parent is the parent", child.second == me.value);
    line("child differs", child.value != me.value);
    leave(0);
  }
  int status;
  call4(SYS_wait4, pid, &status, 0, 0);
  line("fork answered the child's pid", pid != me.value && pid > 0);
  struct result ids = sc(SYS_getuid, 0, 0, 0);
  line("real and effective uid agree", ids.value == ids.second);
  leave(0);
}
