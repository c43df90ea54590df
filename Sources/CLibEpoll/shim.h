// Linux epoll for the server's I/O loops; Swift's Glibc module does not include <sys/epoll.h>.
#include <sys/epoll.h>
