import type { ReactElement } from 'react';

interface IconProps {
  className?: string;
}
const base = (path: ReactElement, className = 'icon'): ReactElement => (
  <svg className={className} viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor"
    strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
    {path}
  </svg>
);

export const PowerIcon = ({ className }: IconProps) => base(<><path d="M12 3v9" /><path d="M6.3 7.2a8 8 0 1 0 11.4 0" /></>, className);
export const RestartIcon = ({ className }: IconProps) => base(<><path d="M20 12a8 8 0 1 1-2.6-5.9" /><path d="M20 4v5h-5" /></>, className);
export const EyeIcon = ({ className }: IconProps) => base(<><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12Z" /><circle cx="12" cy="12" r="3" /></>, className);
export const EyeOffIcon = ({ className }: IconProps) => base(<><path d="M3 3l18 18" /><path d="M10.6 5.1A10 10 0 0 1 12 5c6.4 0 10 7 10 7a17 17 0 0 1-3.2 4.1M6.6 6.6C3.7 8.4 2 12 2 12s3.6 7 10 7a9.7 9.7 0 0 0 5.4-1.6" /><path d="M9.9 9.9a3 3 0 0 0 4.2 4.2" /></>, className);
export const ArrowRightIcon = ({ className }: IconProps) => base(<><path d="M5 12h14" /><path d="M13 6l6 6-6 6" /></>, className);
export const BackIcon = ({ className }: IconProps) => base(<><path d="M19 12H5" /><path d="M11 6l-6 6 6 6" /></>, className);
export const AccessibilityIcon = ({ className }: IconProps) => base(<><circle cx="12" cy="4.5" r="1.8" /><path d="M4 8.5l8 1.5 8-1.5" /><path d="M12 10v5l-3.5 6.5M12 15l3.5 6.5" /></>, className);
export const GlobeIcon = ({ className }: IconProps) => base(<><circle cx="12" cy="12" r="9" /><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18" /></>, className);
export const WarningIcon = ({ className }: IconProps) => base(<><path d="M12 3 2 20h20L12 3Z" /><path d="M12 10v4M12 17.5v.01" /></>, className);
export const LockIcon = ({ className }: IconProps) => base(<><rect x="4.5" y="10.5" width="15" height="10" rx="2" /><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" /></>, className);
export const UserPlusIcon = ({ className }: IconProps) => base(<><circle cx="10" cy="8" r="4" /><path d="M2.5 20a7.5 7.5 0 0 1 15 0" /><path d="M19 8v6M16 11h6" /></>, className);
export const KeypadIcon = ({ className }: IconProps) => base(<><circle cx="6" cy="5" r="1" /><circle cx="12" cy="5" r="1" /><circle cx="18" cy="5" r="1" /><circle cx="6" cy="11" r="1" /><circle cx="12" cy="11" r="1" /><circle cx="18" cy="11" r="1" /><circle cx="6" cy="17" r="1" /><circle cx="12" cy="17" r="1" /><circle cx="18" cy="17" r="1" /></>, className);
export const KeyIcon = ({ className }: IconProps) => base(<><circle cx="7.5" cy="15.5" r="4.5" /><path d="M10.7 12.3 20 3M16 7l3 3M14 9l2 2" /></>, className);
export const CheckIcon = ({ className }: IconProps) => base(<path d="M4 12.5l5 5L20 6.5" />, className);
export const SwitchUserIcon = ({ className }: IconProps) => base(<><circle cx="9" cy="8" r="3.5" /><path d="M2.5 20a6.5 6.5 0 0 1 13 0" /><path d="M17 4l3 3-3 3M20 7h-5" /></>, className);
export const CloseIcon = ({ className }: IconProps) => base(<path d="M6 6l12 12M18 6 6 18" />, className);
