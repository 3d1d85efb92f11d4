using System.Buffers.Binary;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// What the BSD-family handlers ask of the calling thread: its system's ABI tables and its word size,
/// and the guest's words (4 or 8 bytes, little-endian on every BSD CPU Trapeze runs).
/// </summary>
internal static class BsdGuest
{
    /// <summary>Only a BSD personality's tables bind these handlers, so the cast holds.</summary>
    public static BsdAbi AbiOf(GuestThread thread) => ((BsdPersonality)thread.Process.Personality).Abi;

    public static int WordSize(GuestThread thread) => thread.Process.Personality.Structures.Model.WordSize;

    public static ulong Word(ReadOnlySpan<byte> bytes, int word)
        => word == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    public static void PutWord(Span<byte> bytes, ulong value, int word)
    {
        if (word == 8)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
    }
}
