/* static_hello.c -- a statically linked program: LD_PRELOAD cannot reach it */
#include <stdio.h>

int main(void)
{
	puts("hello from a static binary");
	return 0;
}
