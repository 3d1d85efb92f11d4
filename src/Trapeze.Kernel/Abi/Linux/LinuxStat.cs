using System.Runtime.InteropServices;

namespace Trapeze.Kernel.Abi.Linux;

/// <summary>struct stat as x86-64 Linux lays it out (asm/stat.h): 144 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LinuxStat
{
    public ulong Device;
    public ulong Inode;
    public ulong LinkCount;
    public uint Mode;
    public uint UserId;
    public uint GroupId;
    private readonly int padding0;
    public ulong SpecialDevice;
    public long Size;
    public long BlockSize;
    public long Blocks;
    public long AccessSeconds;
    public long AccessNanoseconds;
    public long ModifySeconds;
    public long ModifyNanoseconds;
    public long ChangeSeconds;
    public long ChangeNanoseconds;
    private readonly long reserved0, reserved1, reserved2;
}

/// <summary>struct timespec on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>struct timeval on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timeval
{
    public long Seconds;
    public long Microseconds;
}

/// <summary>struct iovec on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVector
{
    public ulong Base;
    public ulong Length;
}

/// <summary>struct rlimit64.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ResourceLimit
{
    public ulong Current;
    public ulong Maximum;
}
