using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Host;

/// <summary>
/// System calls on the host kernel (x86-64 Linux), through libc's <c>syscall(2)</c>.
/// Results follow the kernel's convention: a value, or -errno.
/// </summary>
internal static partial class HostSyscall
{
    // libc's syscall() is variadic; on x86-64 System V its integer arguments travel in the same
    // registers as fixed ones, so a fixed seven-argument signature calls it correctly.
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Call(long number, long a0, long a1, long a2, long a3, long a4, long a5);

    public static long Invoke(int number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        var result = Call(number, a0, a1, a2, a3, a4, a5);
        return result == -1 ? -Marshal.GetLastPInvokeError() : result;
    }

    public static Errno ErrorOf(long result) => result < 0 && result >= -4095 ? (Errno)(-result) : Errno.None;

    /// <summary>The host's number for <paramref name="name"/> (the host is x86-64 Linux).</summary>
    public static int Number(string name)
    {
        foreach (var (entry, number) in LinuxX64SyscallNumbers.All)
        {
            if (entry == name)
                return number;
        }
        throw new InvalidOperationException($"host has no syscall {name}");
    }

    public static readonly int Read = Number("read");
    public static readonly int Write = Number("write");
    public static readonly int Readv = Number("readv");
    public static readonly int Writev = Number("writev");
    public static readonly int Pread64 = Number("pread64");
    public static readonly int Pwrite64 = Number("pwrite64");
    public static readonly int Preadv = Number("preadv");
    public static readonly int Pwritev = Number("pwritev");
    public static readonly int Close = Number("close");
    public static readonly int Lseek = Number("lseek");
    public static readonly int Openat = Number("openat");
    public static readonly int Fstat = Number("fstat");
    public static readonly int Newfstatat = Number("newfstatat");
    public static readonly int Statx = Number("statx");
    public static readonly int Faccessat2 = Number("faccessat2");
    public static readonly int Faccessat = Number("faccessat");
    public static readonly int Readlinkat = Number("readlinkat");
    public static readonly int Getdents64 = Number("getdents64");
    public static readonly int Ioctl = Number("ioctl");
    public static readonly int Fcntl = Number("fcntl");
    public static readonly int Dup = Number("dup");
    public static readonly int Mmap = Number("mmap");
    public static readonly int Munmap = Number("munmap");
    public static readonly int Fchdir = Number("fchdir");
    public static readonly int Fsync = Number("fsync");
    public static readonly int Fdatasync = Number("fdatasync");
    public static readonly int Ftruncate = Number("ftruncate");
    public static readonly int Truncate = Number("truncate");
    public static readonly int Fchmod = Number("fchmod");
    public static readonly int Fchmodat = Number("fchmodat");
    public static readonly int Fchownat = Number("fchownat");
    public static readonly int Fchown = Number("fchown");
    public static readonly int Mkdirat = Number("mkdirat");
    public static readonly int Mknodat = Number("mknodat");
    public static readonly int Unlinkat = Number("unlinkat");
    public static readonly int Renameat2 = Number("renameat2");
    public static readonly int Linkat = Number("linkat");
    public static readonly int Symlinkat = Number("symlinkat");
    public static readonly int Utimensat = Number("utimensat");
    public static readonly int Fstatfs = Number("fstatfs");
    public static readonly int Statfs = Number("statfs");
    public static readonly int Getrandom = Number("getrandom");
    public static readonly int Flock = Number("flock");
    public static readonly int Fadvise64 = Number("fadvise64");
    public static readonly int Fallocate = Number("fallocate");
    public static readonly int Pipe2 = Number("pipe2");
    public static readonly int Eventfd2 = Number("eventfd2");
    public static readonly int EpollCreate1 = Number("epoll_create1");
    public static readonly int EpollCtl = Number("epoll_ctl");
    public static readonly int EpollWait = Number("epoll_wait");
    public static readonly int Ppoll = Number("ppoll");
    public static readonly int Madvise = Number("madvise");
    public static readonly int Getppid = Number("getppid");
    public static readonly int Poll = Number("poll");
    public static readonly int Getsockname = Number("getsockname");
    public static readonly int Getpeername = Number("getpeername");
    public static readonly int Uname = Number("uname");
    public static readonly int Getxattr = Number("getxattr");
    public static readonly int Lgetxattr = Number("lgetxattr");
    public static readonly int Fgetxattr = Number("fgetxattr");
    public static readonly int Listxattr = Number("listxattr");
    public static readonly int Llistxattr = Number("llistxattr");
    public static readonly int Flistxattr = Number("flistxattr");
    public static readonly int Setxattr = Number("setxattr");
    public static readonly int Lsetxattr = Number("lsetxattr");
    public static readonly int Fsetxattr = Number("fsetxattr");
    public static readonly int Removexattr = Number("removexattr");
    public static readonly int Lremovexattr = Number("lremovexattr");
    public static readonly int Fremovexattr = Number("fremovexattr");
    public static readonly int CopyFileRange = Number("copy_file_range");
    public static readonly int Sysinfo = Number("sysinfo");
    public static readonly int Getpgrp = Number("getpgrp");
    public static readonly int Getpgid = Number("getpgid");
    public static readonly int Getsid = Number("getsid");
    public static readonly int Mincore = Number("mincore");
}
