using System.Runtime.InteropServices;

namespace Trapeze.Kernel.Host;

/// <summary>
/// Random bytes from the host kernel's getrandom(2). .NET's RandomNumberGenerator would load OpenSSL
/// (libssl and libcrypto, several milliseconds) into every `trapeze run` just for AT_RANDOM.
/// </summary>
internal static unsafe partial class HostRandom
{
    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static partial nint GetRandom(byte* buffer, nuint length, uint flags);

    public static byte[] GetBytes(int length)
    {
        var bytes = new byte[length];
        Fill(bytes);
        return bytes;
    }

    public static void Fill(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var got = GetRandom(start + done, (nuint)(buffer.Length - done), 0);
                if (got < 0)
                {
                    if (Marshal.GetLastPInvokeError() == 4) // EINTR
                        continue;
                    throw new InvalidOperationException($"host getrandom failed: errno {Marshal.GetLastPInvokeError()}");
                }
                done += (int)got;
            }
        }
    }
}
