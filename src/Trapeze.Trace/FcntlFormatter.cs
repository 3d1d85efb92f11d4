using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Trace;

/// <summary>
/// fcntl's third argument and result mean what the command says: nothing for F_GETFD and F_GETFL,
/// descriptor flags for F_SETFD, open flags for F_SETFL; F_GETFD and F_GETFL return flags,
/// which strace prints as "0x8000 (flags O_RDONLY|O_LARGEFILE)".
/// </summary>
public static class FcntlFormatter
{
    /// <summary>The argument's text, or null when the command takes none.</summary>
    public static string? Argument(FcntlCommand command, ulong raw, EnumFormatter enums) => command switch
    {
        FcntlCommand.F_GETFD or FcntlCommand.F_GETFL or FcntlCommand.F_GETOWN or FcntlCommand.F_GETSIG
            or FcntlCommand.F_GETLEASE or FcntlCommand.F_GETPIPE_SZ or FcntlCommand.F_GET_SEALS => null,
        FcntlCommand.F_SETFD => enums.Format(typeof(FileDescriptorFlags), raw, accessMode: false),
        FcntlCommand.F_SETFL => enums.Format(typeof(OpenFlags), raw),
        FcntlCommand.F_GETLK or FcntlCommand.F_SETLK or FcntlCommand.F_SETLKW or FcntlCommand.F_OFD_GETLK
            or FcntlCommand.F_OFD_SETLK or FcntlCommand.F_OFD_SETLKW or FcntlCommand.F_GETOWN_EX
            or FcntlCommand.F_SETOWN_EX => ArgumentFormatter.Address(raw),
        _ => ((int)raw).ToString(),
    };

    public static string Result(FcntlCommand command, long value, EnumFormatter enums) => command switch
    {
        FcntlCommand.F_GETFD when value != 0 => $"0x{value:x} (flags {enums.Format(typeof(FileDescriptorFlags), (ulong)value, accessMode: false)})",
        FcntlCommand.F_GETFL => $"{ArgumentFormatter.Hex((ulong)value)} (flags {enums.Format(typeof(OpenFlags), (ulong)value)})",
        _ => value.ToString(),
    };
}
