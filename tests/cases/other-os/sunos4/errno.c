/* SunOS 4's own errno values (sys/errno.h): ENOTEMPTY is 66, ENAMETOOLONG 63, ELOOP 62 (Linux: 39,
 * 36, 40); ENOENT 2, EBADF 9, EEXIST 17, EISDIR 21 as in V7. Errors set the PSR's carry bit. */
#include "sys.h"
void _start(void)
{
  struct result r = sc(SYS_open, "/nonexistent/file", O_RDONLY, 0);
  line("open a missing file: carry", r.failed);
  line("ENOENT", r.value);
  line("EBADF", -call(SYS_close, 99, 0, 0));
  call(SYS_mkdir, "/tmp/trapeze-sunos4-dir", 0755, 0);
  line("EEXIST", -call(SYS_mkdir, "/tmp/trapeze-sunos4-dir", 0755, 0));
  call(SYS_mkdir, "/tmp/trapeze-sunos4-dir/inner", 0755, 0);
  line("rmdir non-empty: ENOTEMPTY", -call(SYS_rmdir, "/tmp/trapeze-sunos4-dir", 0, 0));
  call(SYS_rmdir, "/tmp/trapeze-sunos4-dir/inner", 0, 0);
  line("rmdir now empty", call(SYS_rmdir, "/tmp/trapeze-sunos4-dir", 0, 0));
  line("EISDIR", -call(SYS_open, "/tmp", O_WRONLY, 0));
  char name[300];
  for (int i = 0; i < 299; i++) name[i] = 'n';
  name[299] = 0;
  line("ENAMETOOLONG", -call(SYS_open, name, O_RDONLY, 0));
  r = sc(SYS_getpid, 0, 0, 0);
  line("success clears carry", r.failed);
  leave(0);
}
