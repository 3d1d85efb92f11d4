using System.Buffers.Binary;

namespace Trapeze.Kernel.Personalities;

/// <summary>The x86 FPU and SSE state every personality's signal frames share.</summary>
internal static class X86FloatingPoint
{
    /// <summary>
    /// The 512-byte fxsave image of the FPU as a new program has it: control word 0x37f, MXCSR 0x1f80
    /// (all exceptions masked). A handler starts with it (Linux's fpu__clear, FreeBSD's and XNU's
    /// sendsig drop the interrupted state the same way).
    /// </summary>
    public static readonly byte[] Initial = CreateInitial();

    private static byte[] CreateInitial()
    {
        var image = new byte[512];
        BinaryPrimitives.WriteUInt16LittleEndian(image, 0x37f);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(24), 0x1f80);
        return image;
    }
}
