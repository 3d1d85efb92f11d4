namespace Trapeze.Cpu;

/// <summary>x86 registers the kernel reads or writes, in the engine-neutral form.</summary>
public enum X64Register
{
    Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp,
    R8, R9, R10, R11, R12, R13, R14, R15,
    Rip, Rflags, FsBase, GsBase,

    /// <summary>The SSE control and status register, and the x87 control word.</summary>
    Mxcsr, X87Control,
}
