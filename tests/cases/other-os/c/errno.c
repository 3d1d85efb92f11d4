/* Each system's own errno values (sys/errno.h of FreeBSD and XNU): EAGAIN is 35 and ENOTEMPTY 66 on
 * both (Linux: 11 and 39); ENOENT 2, EBADF 9, EISDIR 21 as everywhere. Errors set the carry flag. */
#include "sys.h"
void ENTRY(void)
{
  int fds[2];
  make_pipe(fds);
  call(SYS_fcntl, fds[0], F_SETFL, O_NONBLOCK);
  char byte;
  struct result r = sc(SYS_read, fds[0], &byte, 1);
  line("empty non-blocking pipe: carry", r.failed);
  line("EAGAIN", r.value);
  call(SYS_mkdir, "/tmp/trapeze-other-os-dir", 0755, 0);
  call(SYS_mkdir, "/tmp/trapeze-other-os-dir/inner", 0755, 0);
  line("rmdir non-empty: ENOTEMPTY", -call(SYS_rmdir, "/tmp/trapeze-other-os-dir", 0, 0));
  call(SYS_rmdir, "/tmp/trapeze-other-os-dir/inner", 0, 0);
  line("rmdir now empty", call(SYS_rmdir, "/tmp/trapeze-other-os-dir", 0, 0));
  line("ENOENT", -call(SYS_open, "/nonexistent/file", O_RDONLY, 0));
  line("EBADF", -call(SYS_close, 99, 0, 0));
  line("EISDIR", -call(SYS_open, "/tmp", O_WRONLY, 0));
  r = sc(SYS_getpid, 0, 0, 0);
  line("success clears carry", r.failed);
  leave(0);
}
