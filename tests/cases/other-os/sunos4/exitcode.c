/* exit(2)'s status reaches the parent: this program exits 42. */
#include "sys.h"
void _start(void)
{
  put("exiting with 42\n");
  leave(42);
}
